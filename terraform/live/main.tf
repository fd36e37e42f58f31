module "settings" {
  source = "../modules/settings"

  workspace = terraform.workspace
  project   = var.project
}

provider "aws" {
  region              = var.region
  allowed_account_ids = contains(keys(var.account_ids), module.settings.environment) ? [var.account_ids[module.settings.environment]] : null

  default_tags {
    tags = module.settings.tags
  }
}

locals {
  env      = module.settings.environment
  settings = module.settings.settings
  prefix   = module.settings.name_prefix

  # What `observe dashboards build --out terraform/generated` wrote from observe.toml: the
  # namespace, each pipeline's dashboard and alarm files per environment, who is notified.
  observe = jsondecode(file("${var.generated_dir}/observe.json"))

  artifact = {
    package_type      = var.package_type
    s3_bucket         = var.package_type == "Zip" ? var.lambda_zip_s3_bucket : null
    s3_key            = var.package_type == "Zip" ? var.lambda_zip_s3_key : null
    s3_object_version = var.package_type == "Zip" ? var.lambda_zip_s3_version : null
    image_uri         = var.package_type == "Image" ? var.lambda_image_uri : null
  }
}

module "ingest" {
  source = "../modules/ingestion_pipeline"

  name_prefix              = local.prefix
  environment              = local.env
  artifact                 = local.artifact
  source_url               = local.ws.source_url
  schedule_expression      = local.ws.schedule_expression
  log_level                = local.settings.log_level
  log_retention_days       = local.settings.log_retention_days
  tracing_mode             = local.ws.tracing_mode
  metrics_namespace        = local.observe.namespace
  permissions_boundary_arn = var.lambda_permissions_boundary_arn
  tags                     = module.settings.tags

  # The timeouts observe.toml declares: the dashboards draw them on the Duration widgets and the
  # Duration alarms are a share of them, so the deployed functions take them from there.
  scheduler = {
    timeout = local.observe.functions.ingest["ingest-scheduler"].timeout
  }
  worker = {
    maximum_concurrency = local.ws.worker_concurrency
    timeout             = local.observe.functions.ingest["ingest-worker"].timeout
  }
  table = {
    deletion_protection = local.settings.deletion_protection
  }
  backup = {
    noncurrent_version_expiration_days = local.settings.noncurrent_version_expiration
    quarantine_expiration_days         = local.settings.quarantine_expiration
  }
}

module "auth" {
  source = "../modules/auth_chain"

  name_prefix     = local.prefix
  environment     = local.env
  artifact        = local.artifact
  singpass_mode   = local.ws.singpass_mode
  singpass_issuer = local.ws.singpass_issuer
  client_id       = local.ws.client_id
  redirect_uri    = local.ws.redirect_uri
  # Values are written by `python -m pipelines.auth.keys --ssm-prefix /<project>/<env>/auth`, never by Terraform.
  ssm_parameters = {
    signing_key    = "/${var.project}/${local.env}/auth/signing-key"
    encryption_key = "/${var.project}/${local.env}/auth/encryption-key"
    cookie_key     = "/${var.project}/${local.env}/auth/cookie-key"
  }
  replay_guard             = local.settings.replay_guard
  timeout                  = max([for f in values(local.observe.functions.auth) : f.timeout]...) # one for all three
  log_level                = local.settings.log_level
  log_retention_days       = local.settings.log_retention_days
  tracing_mode             = local.ws.tracing_mode
  metrics_namespace        = local.observe.namespace
  permissions_boundary_arn = var.lambda_permissions_boundary_arn
  tags                     = module.settings.tags
}

module "observability" {
  source = "../modules/observability"

  name_prefix       = local.prefix
  alarm_name_prefix = var.project
  environment       = local.env
  namespace         = local.observe.namespace
  pipelines = {
    for p, f in local.observe.environments[local.env].files : p => {
      dashboard_file = "${var.generated_dir}/${f.dashboard_file}"
      alarms_file    = "${var.generated_dir}/${f.alarms_file}"
    }
  }
  alarms_enabled                = local.settings.alarms_enabled
  notification_emails           = local.observe.environments[local.env].notification_emails
  log_group_names               = concat(module.ingest.log_group_names, module.auth.log_group_names)
  retention_days                = local.settings.log_retention_days
  enforce_retention_with_config = local.settings.is_production
  tags                          = module.settings.tags
}

module "site" {
  source = "../modules/static_site"
  count  = local.ws.static_site ? 1 : 0

  name_prefix = local.prefix
  site_name   = "login-ui"
  tags        = module.settings.tags
}
