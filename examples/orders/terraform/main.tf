# The orders team's own Terraform: their function and its dashboard and alarm, from observe's
# modules pinned by release tag (?ref=, never a branch: a plan must not change under the team).

provider "aws" {
  region = var.region
}

locals {
  environment = contains(["dev", "stg", "prd"], terraform.workspace) ? terraform.workspace : "dev"
  # What `observe dashboards build --out generated` wrote from observe.toml: the namespace, each
  # pipeline's dashboard and alarm files per environment, and who is notified per severity.
  observe = jsondecode(file("${path.module}/${var.generated_dir}/observe.json"))
  files   = local.observe.environments[local.environment].files
}

module "shipper" {
  source = "git::https://github.com/example-org/observe-pipelines.git//terraform/modules/observed_lambda?ref=v0.1.0"

  function_name     = "orders-${local.environment}-shipper"
  environment       = local.environment
  service_name      = "orders-shipper" # = observe.toml [pipelines.orders] services: the alarm's dimension
  pipeline          = "orders"
  handler           = "orders.handler.handler"
  artifact          = var.artifact
  metrics_namespace = local.observe.namespace
  timeout           = 30
}

module "observability" {
  source = "git::https://github.com/example-org/observe-pipelines.git//terraform/modules/observability?ref=v0.1.0"

  name_prefix       = "orders-${local.environment}"
  alarm_name_prefix = "orders"
  environment       = local.environment
  namespace         = local.observe.namespace
  pipelines = {
    for p, f in local.files : p => {
      dashboard_file = "${path.module}/${var.generated_dir}/${f.dashboard_file}"
      alarms_file    = "${path.module}/${var.generated_dir}/${f.alarms_file}"
    }
  }
  notification_emails = local.observe.environments[local.environment].notification_emails
  alarms_enabled      = local.environment != "dev"
  log_group_names     = [module.shipper.log_group_name]
}
