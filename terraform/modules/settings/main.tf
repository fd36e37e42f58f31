# Environment defaults, in one table, so a reader sees at a glance how dev, stg and prd differ.
# Nothing here talks to AWS: it is the place for the decisions, tested with `terraform test`.
locals {
  defaults = {
    dev = {
      log_retention_days            = 14
      log_level                     = "DEBUG"
      replay_guard                  = false
      noncurrent_version_expiration = 30
      quarantine_expiration         = 30
      alarms_enabled                = false
      deletion_protection           = false
      pitr                          = true
    }
    stg = {
      log_retention_days            = 30
      log_level                     = "INFO"
      replay_guard                  = true
      noncurrent_version_expiration = 90
      quarantine_expiration         = 90
      alarms_enabled                = true
      deletion_protection           = false
      pitr                          = true
    }
    prd = {
      log_retention_days            = 90
      log_level                     = "INFO"
      replay_guard                  = true
      noncurrent_version_expiration = 365
      quarantine_expiration         = 400
      alarms_enabled                = true
      deletion_protection           = true
      pitr                          = true
    }
  }

  environment = var.workspace
  base        = local.defaults[local.environment]
  name_prefix = "${var.project}-${local.environment}"

  effective = {
    environment                   = local.environment
    name_prefix                   = local.name_prefix
    is_production                 = local.environment == "prd"
    log_retention_days            = coalesce(var.log_retention_days, local.base.log_retention_days)
    log_level                     = coalesce(var.overrides.log_level, local.base.log_level)
    replay_guard                  = coalesce(var.overrides.replay_guard, local.base.replay_guard)
    noncurrent_version_expiration = coalesce(var.overrides.noncurrent_version_expiration, local.base.noncurrent_version_expiration)
    quarantine_expiration         = coalesce(var.overrides.quarantine_expiration, local.base.quarantine_expiration)
    alarms_enabled                = coalesce(var.overrides.alarms_enabled, local.base.alarms_enabled)
    deletion_protection           = local.base.deletion_protection
    pitr                          = local.base.pitr
  }

  names = { for c in var.components : c => "${local.name_prefix}-${c}" }

  tags = {
    Project     = var.project
    Environment = local.environment
    ManagedBy   = "terraform"
  }
}
