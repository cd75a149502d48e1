"""The commands of `starter.py`. `cli/commands.py` declares every command's arguments without
importing anything heavy; each command's code lives in its own module here (`find.py`,
`report.py`...), an `async function(settings, args) -> int` imported only when it runs."""
