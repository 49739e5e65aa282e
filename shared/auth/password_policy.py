"""What a password a user chooses must be: at least MIN_LENGTH characters and not easy to
guess by zxcvbn's estimate (common passwords, words, dates, keyboard runs, repeats, and
the user's own name, username and station), at most MAX_LENGTH. The message names the
problem in Chinese, with zxcvbn's own hint in English."""
from zxcvbn import zxcvbn

from shared.exceptions import InvalidInput

MIN_LENGTH = 10
MAX_LENGTH = 200
# zxcvbn's score 0-4: 3 is "safely unguessable" against an online attack with throttling
MIN_SCORE = 3
# zxcvbn looks only at the first characters (it is slow on long input); a long
# passphrase past this is strong enough
CHECKED_CHARS = 100

WARNINGS = {
    "top-10 common password": "这是最常见的密码之一",
    "top-100 common password": "这是最常见的密码之一",
    "very common password": "这是很常见的密码",
    "similar to a commonly used password": "与常见密码相似",
    "single word is easy to guess": "单个词语很容易被猜到",
    "names and surnames by themselves are easy to guess": "单独的姓名很容易被猜到",
    "common names and surnames are easy to guess": "常见姓名很容易被猜到",
    "repeats like": "包含重复的字符",
    "sequences like": "包含连续的字符（如 abc、123）",
    "straight rows of keys": "包含键盘上连续的按键",
    "short keyboard patterns": "包含键盘图案",
    "recent years are easy to guess": "包含年份",
    "dates are often easy to guess": "包含日期",
}


def problem(password, user_inputs=(), current=None, forbidden=()):
    """The policy's objection to `password` in Chinese (and English), or None."""
    if len(password) < MIN_LENGTH:
        return f"密码至少 {MIN_LENGTH} 个字符（现在 {len(password)} 个）：password must have at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"密码最多 {MAX_LENGTH} 个字符：password is too long"
    if current is not None and password == current:
        return "新密码不能与当前密码相同：the new password must differ from the current one"
    if password in forbidden:
        return "不能使用初始（示例）密码：the sample password cannot be chosen"
    result = zxcvbn(password[:CHECKED_CHARS], user_inputs=[str(u) for u in user_inputs if u])
    if result["score"] >= MIN_SCORE:
        return None
    warning = result["feedback"].get("warning") or ""
    reason = next((text for key, text in WARNINGS.items() if key in warning.lower()), "")
    hint = warning or " ".join(result["feedback"].get("suggestions") or []) or "too easy to guess"
    return (f"密码太容易被猜到{('：' + reason) if reason else ''}。请使用更长的、不含姓名、用户名、站点和日期的"
            f"组合（例如几个不相关的词加数字和符号）：password is too weak — {hint}")


def check(password, user_inputs=(), current=None, forbidden=()):
    """InvalidInput (400) naming the problem, unless `password` is acceptable."""
    objection = problem(password, user_inputs, current, forbidden)
    if objection:
        raise InvalidInput(f"new_password: {objection}", {"new_password": [objection]})
