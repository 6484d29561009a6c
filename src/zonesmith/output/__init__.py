"""The output tree a build writes, and the memo that replays an unchanged build."""
