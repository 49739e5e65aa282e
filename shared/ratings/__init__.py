"""好差评 (ratings) and what follows a bad one, plain Python (issue 20, points 1-3).

levels.py        the five levels, their scores (old clients' 1-5), the reasons, who is responsible
rectification.py the rectification order (整改) a bad rating opens: states, due date, who may do what
appeals.py       an office's appeal (申诉) against a rating and the supervisor's decision
policy.py        the district's numbers (7 days to a default rating, 5 working days, ...)
figures.py       the rating figures for statistics, over plain rows
schemas.py       marshmallow schemas at the district API's boundary
"""
