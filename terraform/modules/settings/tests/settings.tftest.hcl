# Pure logic, no provider: `terraform test` runs offline (command = plan is enough, there are no resources).

run "dev_defaults" {
  command = plan

  variables {
    workspace  = "dev"
    components = ["ingest-worker", "auth-login"]
  }

  assert {
    condition     = output.log_retention_days == 14
    error_message = "dev keeps logs 14 days"
  }
  assert {
    condition     = output.settings.log_level == "DEBUG" && output.settings.replay_guard == false
    error_message = "dev logs at DEBUG and runs without the replay guard by default"
  }
  assert {
    condition     = output.names["ingest-worker"] == "pipelines-dev-ingest-worker"
    error_message = "names are <project>-<env>-<component>"
  }
  assert {
    condition     = output.tags == { Project = "pipelines", Environment = "dev", ManagedBy = "terraform" }
    error_message = "tags name project, environment and the tool"
  }
}

run "stg_defaults" {
  command = plan

  variables {
    workspace = "stg"
  }

  assert {
    condition     = output.log_retention_days == 30 && output.settings.replay_guard && output.settings.log_level == "INFO"
    error_message = "stg keeps logs 30 days, guards replays, logs at INFO"
  }
}

run "prd_defaults" {
  command = plan

  variables {
    workspace = "prd"
    project   = "acme-data"
  }

  assert {
    condition     = output.log_retention_days == 90
    error_message = "prd keeps logs 90 days"
  }
  assert {
    condition     = output.settings.is_production && output.settings.deletion_protection && output.settings.alarms_enabled
    error_message = "prd is production: deletion protection and alarms on"
  }
  assert {
    condition     = output.name_prefix == "acme-data-prd"
    error_message = "the prefix is <project>-<env>"
  }
}

run "overrides_win_over_defaults" {
  command = plan

  variables {
    workspace          = "prd"
    log_retention_days = 365
    overrides = {
      log_level    = "WARNING"
      replay_guard = false
    }
  }

  assert {
    condition     = output.log_retention_days == 365 && output.settings.log_level == "WARNING" && !output.settings.replay_guard
    error_message = "an override replaces only the setting it names"
  }
  assert {
    condition     = output.settings.quarantine_expiration == 400
    error_message = "settings without an override keep the environment default"
  }
}

run "unknown_workspace_is_refused" {
  command = plan

  variables {
    workspace = "default"
  }

  expect_failures = [var.workspace]
}

run "retention_must_be_a_cloudwatch_value" {
  command = plan

  variables {
    workspace          = "dev"
    log_retention_days = 10
  }

  expect_failures = [var.log_retention_days]
}

run "bad_log_level_is_refused" {
  command = plan

  variables {
    workspace = "dev"
    overrides = { log_level = "VERBOSE" }
  }

  expect_failures = [var.overrides]
}

run "too_long_names_are_refused" {
  command = plan

  variables {
    workspace  = "dev"
    project    = "a-very-long-project-nm"
    components = ["an-exceedingly-long-component-name-for-lambda"]
  }

  expect_failures = [output.names]
}
