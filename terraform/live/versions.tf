terraform {
  # 1.10+: S3-native state locking (use_lockfile), no DynamoDB lock table.
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 7.0"
    }
  }

  # bucket and region come from `terraform init -backend-config=backend.hcl` (see backend.hcl.example
  # and docs/operations.md): the bootstrap output state_bucket. Each workspace's state lives at
  # env/<workspace>/pipelines.tfstate with its lock file beside it.
  backend "s3" {
    key                  = "pipelines.tfstate"
    workspace_key_prefix = "env"
    encrypt              = true
    use_lockfile         = true
  }
}
