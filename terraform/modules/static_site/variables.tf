variable "name_prefix" {
  type        = string
  description = "Prefix of the bucket and CloudFront names (<project>-<environment>)."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,40}$", var.name_prefix))
    error_message = "name_prefix must be 2-41 lowercase letters, digits and hyphens."
  }
}

variable "site_name" {
  type        = string
  description = "Short name of the site (e.g. login-ui); part of the bucket name."
  default     = "site"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,9}$", var.site_name))
    error_message = "site_name must be 1-10 lowercase letters, digits and hyphens."
  }
}

variable "aliases" {
  type        = list(string)
  description = "Custom domain names; they need acm_certificate_arn (a us-east-1 certificate)."
  default     = []
}

variable "acm_certificate_arn" {
  type        = string
  description = "ACM certificate in us-east-1 for the aliases; null serves on the cloudfront.net name."
  default     = null

  validation {
    condition     = var.acm_certificate_arn == null ? true : can(regex("^arn:aws[a-z-]*:acm:us-east-1:", var.acm_certificate_arn))
    error_message = "acm_certificate_arn must be an ACM certificate in us-east-1 (CloudFront's rule)."
  }
}

variable "content_security_policy" {
  type        = string
  description = "Content-Security-Policy header of every response."
  default     = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
}

variable "price_class" {
  type        = string
  description = "CloudFront price class."
  default     = "PriceClass_200"

  validation {
    condition     = contains(["PriceClass_All", "PriceClass_200", "PriceClass_100"], var.price_class)
    error_message = "price_class must be PriceClass_All, PriceClass_200 or PriceClass_100."
  }
}

variable "web_acl_id" {
  type        = string
  description = "ARN of a WAFv2 web ACL (scope CLOUDFRONT) to attach; null for none."
  default     = null
}

variable "logging_bucket_domain_name" {
  type        = string
  description = "Bucket (domain name, ACLs enabled) for CloudFront standard logs; null for none."
  default     = null
}

variable "noncurrent_version_expiration_days" {
  type        = number
  description = "How long replaced versions of site files are kept (for rollback)."
  default     = 30
}

variable "tags" {
  type        = map(string)
  description = "Tags for every resource."
  default     = {}
}
