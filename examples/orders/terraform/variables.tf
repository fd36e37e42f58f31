variable "region" {
  type        = string
  description = "AWS region of the orders team's functions."
  default     = "ap-southeast-1"
}

variable "artifact" {
  type = object({
    package_type      = string
    s3_bucket         = optional(string)
    s3_key            = optional(string)
    s3_object_version = optional(string)
    image_uri         = optional(string)
  })
  description = "The Lambda package CI built (pip install --target + observe.toml, zipped), by reference."
}

variable "generated_dir" {
  type        = string
  description = "Where `observe dashboards build --out` wrote the dashboard and alarm JSON (relative to this directory)."
  default     = "generated"
}
