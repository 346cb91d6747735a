"""The owner's screens, each a module of its own.

The workspace's rules, the report, the export of the signed logs, the check of a published file,
and creating a workspace.

- :mod:`.policy_editor`: :class:`~.policy_editor.PolicyEditor`, every rule in words, signed.
- :mod:`.report_dialog`: :class:`~.report_dialog.ReportDialog` (Export report…).
- :mod:`.export_dialog`: :class:`~.export_dialog.ExportLogsDialog` (Export logs…).
- :mod:`.check_dialog`: :class:`~.check_dialog.CheckPublishedDialog` (Check a published file…).
- :mod:`.create_dialog`: :class:`~.create_dialog.CreateWorkspaceDialog` (folder and name).
- :mod:`.screens`: :class:`~.screens.OwnerScreens`, what the window's actions call.
- :mod:`.job_dialog`: what the export and check screens share (a job off the GUI thread).
"""
