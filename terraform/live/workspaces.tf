# Per-workspace settings: what differs between dev, stg and prd that is not a default of the
# settings module (retention, log level, replay guard, lifecycle: see modules/settings).
# Exactly dev, stg and prd; any other workspace fails at plan with a message from modules/settings.
# Replace the example.com / example values with yours; nothing here is secret.
locals {
  workspaces = {
    dev = {
      source_url          = "https://source.dev.example.com/api"
      schedule_expression = "rate(1 hour)"
      worker_concurrency  = 2
      singpass_mode       = "fapi"
      singpass_issuer     = "https://stg-id.singpass.gov.sg"
      client_id           = "pipelines-dev"
      redirect_uri        = "https://auth.dev.example.com/callback"
      static_site         = false
      tracing_mode        = "PassThrough"
    }
    stg = {
      source_url          = "https://source.stg.example.com/api"
      schedule_expression = "rate(15 minutes)"
      worker_concurrency  = 5
      singpass_mode       = "fapi"
      singpass_issuer     = "https://stg-id.singpass.gov.sg"
      client_id           = "pipelines-stg"
      redirect_uri        = "https://auth.stg.example.com/callback"
      static_site         = true
      tracing_mode        = "Active"
    }
    prd = {
      source_url          = "https://source.example.com/api"
      schedule_expression = "rate(15 minutes)"
      worker_concurrency  = 20
      singpass_mode       = "fapi"
      singpass_issuer     = "https://id.singpass.gov.sg"
      client_id           = "pipelines-prd"
      redirect_uri        = "https://auth.example.com/callback"
      static_site         = true
      tracing_mode        = "Active"
    }
  }

  # An unknown workspace is refused by module.settings (variable validation, a clear message);
  # the fallback only keeps this lookup from adding a second, less helpful error beside it.
  ws = lookup(local.workspaces, terraform.workspace, local.workspaces["dev"])
}
