"""Unattended operation: `kb update` for cron, its lock, its log, and the schedules `kb cron` prints.

- update: scrape what is due, embed, index; exit codes for cron
- lock, logs, schedule: one run at a time; a rotating log; crontab and systemd timer text
- background: `kb embed` beside `kb serve --embed`, at low priority
"""
