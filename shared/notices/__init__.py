"""Notices to residents (SMS) and the portal's one-time codes (issue 16).

- templates.py: the kinds of notice, their template ids and Chinese texts;
- outbox.py: `add_notice(session, kind, mobile, params, case_no=None)`, in the
  transaction of the change the notice tells;
- sender.py: sends each unsent notice once through a channel, with retries;
- channels.py: the channels (`file:<dir>` for development, `sms:<url>` an HTTP SMS gateway);
- one_time_codes.py: 6-digit codes for the portal, hashed, limited per mobile and address.
"""
