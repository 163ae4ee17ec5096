"""Periodic portfolio reports: payload by aggregation (build), page and charts (render), CSV/XLSX (export),
e-mail (deliver), and the services and selectors that tie them together (services).

Entry points for other doors (API, admin, tasks, commands)::

    from scoring.reports.services import report_generate, report_list_for, report_get_for
    from scoring.reports.export import report_csv, report_xlsx, report_filename
"""
