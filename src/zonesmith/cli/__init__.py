"""The ``zonesmith`` command: its group of commands and the entry point."""

from __future__ import annotations

import gc
import os
import sys

import click

from zonesmith import __version__
from zonesmith.cli import blocklist, build, deploy, dnssec, transfer
from zonesmith.cli.common import EXIT_ERRORS, EXIT_INTERNAL, REPORT_URL


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="zonesmith")
def cli() -> None:
    """DNS as code for people who run their own name servers."""


for command in (
    build.check,
    build.build,
    blocklist.blocklist,
    transfer.import_group,
    transfer.export_group,
    deploy.plan,
    deploy.apply,
    deploy.status,
    deploy.rollback,
    dnssec.dnssec,
):
    cli.add_command(command)


def main() -> None:
    """Entry point: never shows a traceback for a problem of zonesmith's own."""
    # A build makes millions of small objects and no garbage cycles worth the
    # trouble in a short-lived process; the cycle collector would only rescan
    # them again and again.
    gc.disable()
    code: int | str | None = 0
    try:
        cli()
    except SystemExit as done:
        code = done.code
    except KeyboardInterrupt:
        code = 130
    except OSError as exc:  # the operating system's refusal, not a bug of zonesmith
        from zonesmith.site.files import os_failure

        click.echo(str(os_failure(exc, "finish the command")), err=True)
        code = EXIT_ERRORS
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        if os.environ.get("ZONESMITH_DEBUG"):
            import traceback

            traceback.print_exc()
        click.echo(
            f"zonesmith: internal error: {type(exc).__name__}: {exc}\n"
            f"This is a bug in zonesmith. Please report it to {REPORT_URL} with the command "
            "you ran; set ZONESMITH_DEBUG=1 to see the details.",
            err=True,
        )
        code = EXIT_INTERNAL
    if isinstance(code, str):
        print(code, file=sys.stderr)
        code = 1
    # Every file is closed by now: leaving without freeing the model object by
    # object spares a big site's rebuild work nobody needs.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or 0)
