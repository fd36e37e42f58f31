output "topic_arns" {
  description = "SNS topic ARN per severity."
  value       = { for s, t in aws_sns_topic.alarms : s => t.arn }
}

output "alarm_names" {
  description = "Names of the alarms created from the generated specs."
  value       = sort([for a in aws_cloudwatch_metric_alarm.this : a.alarm_name])
}

output "dashboard_names" {
  description = "Dashboard name per pipeline."
  value       = { for p, d in aws_cloudwatch_dashboard.this : p => d.dashboard_name }
}

output "query_definition_names" {
  description = "Names of the saved Logs Insights triage queries."
  value       = sort([for q in aws_cloudwatch_query_definition.triage : q.name])
}
