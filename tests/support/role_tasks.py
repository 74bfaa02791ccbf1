"""The names of the quarantine_file role's tasks whose results the tests read, each named once.

The tests find a task's result by its name; renaming a task in roles/quarantine_file/tasks/main.yml then changes
one line here, not every test that reads it.
"""

REFUSE_TASK = "Refuse what the argument spec cannot check"
PREVIEW_TASK = "Show what the run is about to do"
PLAN_READ_TASK = "Read what a real run would do, before anything is written"
PLAN_TASK = "Show how many machines need an action and the expected end"
MODULE_TASK = "Stop and quarantine each file on all its targets"
FOLLOW_TASK = "Print the progress of the runs until every file is done"
FACT_TASK = "Put the results together"
REPORT_PATHS_TASK = "Name the report files"
SUMMARY_TASK = "Show the summary"
TABLE_TASK = "Show the result per machine"
STATS_TASK = "Publish the summary, the failures and the result per machine as statistics (job artifacts in AWX)"
FINAL_TASK = "Fail when a file could not be handled or a machine failed"
