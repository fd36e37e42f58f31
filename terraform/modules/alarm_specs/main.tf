# The dashboard/alarm JSON contract with `observe dashboards build` (the dashboards package):
# - placeholders ${environment}, ${region}, ${namespace}, ${resource_prefix} (before a deployed
#   function's or queue's name, in the AWS/Lambda and AWS/SQS dimensions) and nothing else are
#   substituted here;
#   plain replace() rather than templatefile(), so a CloudWatch dynamic label such as ${LAST}
#   in a dashboard body passes through untouched instead of failing as an unknown template key;
# - every alarm spec is normalised to one shape (absent optional keys become null / defaults),
#   and every rule the AWS API would reject late is checked here early, naming file and alarm.
locals {
  comparison_operators = [
    "GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold", "LessThanOrEqualToThreshold",
    "LessThanLowerOrGreaterThanUpperThreshold", "LessThanLowerThreshold", "GreaterThanUpperThreshold",
  ]
  missing_data_treatments = ["breaching", "notBreaching", "ignore", "missing"]

  alarms_text = replace(replace(replace(replace(file(var.alarms_file),
    "$${environment}", var.environment),
    "$${region}", var.region),
    "$${namespace}", var.namespace),
  "$${resource_prefix}", var.resource_prefix)

  decoded = try(jsondecode(local.alarms_text), [])
  # A JSON list of objects that all have a name (an object at the top level is refused too).
  raw_ok = can(jsondecode(local.alarms_text)) && !can(keys(local.decoded)) && can([for a in local.decoded : tostring(a.name)])

  leftover_placeholders = distinct(regexall("\\$\\{[^}]*\\}", local.alarms_text))

  normalised = [for a in local.decoded : {
    key                 = a.name
    alarm_name          = var.name_prefix == "" ? a.name : "${var.name_prefix}-${a.name}"
    description         = try(tostring(a.description), "")
    severity            = try(tostring(a.severity), "")
    metric_name         = try(tostring(a.metric_name), null)
    namespace           = try(tostring(a.namespace), null)
    dimensions          = try(tomap(a.dimensions), {})
    statistic           = try(tostring(a.statistic), null)
    extended_statistic  = try(tostring(a.extended_statistic), null)
    period              = try(tonumber(a.period), null)
    evaluation_periods  = try(tonumber(a.evaluation_periods), 1)
    datapoints_to_alarm = try(tonumber(a.datapoints_to_alarm), try(tonumber(a.evaluation_periods), 1))
    threshold           = try(tonumber(a.threshold), null)
    comparison_operator = try(tostring(a.comparison_operator), "")
    treat_missing_data  = try(tostring(a.treat_missing_data), "missing")
    metric_queries = [for q in try(a.metric_queries, []) : {
      id          = q.id
      expression  = try(tostring(q.expression), null)
      label       = try(tostring(q.label), null)
      return_data = try(tobool(q.return_data), false)
      metric = try(q.metric, null) == null ? null : {
        metric_name = q.metric.metric_name
        namespace   = q.metric.namespace
        dimensions  = try(tomap(q.metric.dimensions), {})
        stat        = q.metric.stat
        period      = q.metric.period
        unit        = try(tostring(q.metric.unit), null)
      }
    }]
  } if local.raw_ok]

  names = [for a in local.normalised : a.key]

  errors = concat(
    local.raw_ok ? [] : ["the file is not a JSON list of alarm objects that each have a \"name\""],
    [for p in local.leftover_placeholders : "unknown placeholder ${p}: only $${environment}, $${region}, $${namespace} and $${resource_prefix} are substituted"],
    [for n in distinct(local.names) : "alarm name ${n} appears more than once" if length([for m in local.names : m if m == n]) > 1],
    flatten([for a in local.normalised : concat(
      contains(var.severities, a.severity) ? [] : ["${a.key}: severity \"${a.severity}\" is not one of ${join(", ", var.severities)}"],
      contains(local.comparison_operators, a.comparison_operator) ? [] : ["${a.key}: comparison_operator \"${a.comparison_operator}\" is not a CloudWatch operator"],
      contains(local.missing_data_treatments, a.treat_missing_data) ? [] : ["${a.key}: treat_missing_data \"${a.treat_missing_data}\" is not one of ${join(", ", local.missing_data_treatments)}"],
      a.threshold != null ? [] : ["${a.key}: threshold is missing or not a number"],
      (a.metric_name != null) != (length(a.metric_queries) > 0) ? [] : ["${a.key}: give either metric_name (with statistic or extended_statistic) or metric_queries, not both or neither"],
      a.metric_name == null || ((a.statistic != null) != (a.extended_statistic != null)) ? [] : ["${a.key}: give exactly one of statistic and extended_statistic"],
      a.metric_name == null || a.period != null ? [] : ["${a.key}: period is required with metric_name"],
      length(a.metric_queries) == 0 || length([for q in a.metric_queries : q if q.return_data]) == 1 ? [] : ["${a.key}: exactly one metric query must have return_data = true"],
      a.datapoints_to_alarm <= a.evaluation_periods ? [] : ["${a.key}: datapoints_to_alarm exceeds evaluation_periods"],
    )]),
  )

  # Grouped first so a duplicate name is reported by the check above rather than as a raw HCL error.
  alarms = { for k, group in { for a in local.normalised : a.key => a... } : k => group[0] }

  # The dashboard also names the alarms it shows (by ARN) and the log groups its log widgets query.
  alarm_arn_prefix = "arn:${var.partition}:cloudwatch:${var.region}:${var.account_id}:alarm:${var.name_prefix == "" ? "" : "${var.name_prefix}-"}"
  dashboard_text = var.dashboard_file == null ? null : replace(replace(replace(replace(replace(replace(file(var.dashboard_file),
    "$${environment}", var.environment),
    "$${resource_prefix}", var.resource_prefix),
    "$${region}", var.region),
    "$${namespace}", var.namespace),
    "$${alarm_arn_prefix}", local.alarm_arn_prefix),
  "$${log_group_prefix}", var.log_group_prefix)
  dashboard_ok = local.dashboard_text == null ? true : can(jsondecode(local.dashboard_text).widgets)
}
