output "alarms" {
  description = "Alarm specs keyed by the name in the file, normalised (absent optional keys are null) and checked."
  value       = local.alarms

  precondition {
    condition     = length(local.errors) == 0
    error_message = "Invalid alarm specs in ${var.alarms_file} (regenerate it with `observe dashboards build --out <dir>`, or fix the alarms in your observe configuration):\n- ${join("\n- ", local.errors)}"
  }
}

output "severities" {
  description = "The distinct severities the alarms use (each needs a notification topic)."
  value       = distinct([for a in values(local.alarms) : a.severity])
}

output "dashboard_body" {
  description = "The dashboard body with placeholders substituted, minified; null without dashboard_file."
  value       = local.dashboard_text == null ? null : try(jsonencode(jsondecode(local.dashboard_text)), null)

  precondition {
    condition     = local.dashboard_ok
    error_message = "The dashboard file ${coalesce(var.dashboard_file, "-")} is not a CloudWatch dashboard body (a JSON object with a \"widgets\" list)."
  }
}
