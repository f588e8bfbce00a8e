"""The daily cost email (issue 5): data.py builds a DailyReport, html.py / text.py / chart.py draw it, mail.py
sends it, schedule.py is the daemon's once-a-day job."""
