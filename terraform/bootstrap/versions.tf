terraform {
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 7.0"
    }
  }

  # Applied once per account by an administrator, with local state at first (the bucket does not
  # exist yet). Afterwards move the state into the bucket it created: add
  #   backend "s3" { key = "bootstrap/terraform.tfstate", use_lockfile = true, encrypt = true }
  # and run `terraform init -migrate-state -backend-config=../live/backend.hcl` (docs/operations.md).
}
