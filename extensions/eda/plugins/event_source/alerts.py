# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""mde.response.alerts: an ansible-rulebook event source for Microsoft Defender for Endpoint alerts."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path

DOCUMENTATION = r"""
---
short_description: Poll Microsoft Defender for Endpoint alerts and send one event per new or changed alert.
description:
  - Polls C(GET /api/alerts) with C($filter) on C(lastUpdateTime) and C($expand=evidence), and sends one event per
    alert that is new or whose C(lastUpdateTime) changed since it was last sent.
  - "Each event is C({alert: <the alert entity with its evidence>, sha1s: [<SHA-1 of each file in the evidence>]}),
    so a rule can test C(event.alert.severity) and pass C(event.sha1s) and C(event.alert.machineId) on."
  - A cursor state file (O(state_file)) records what was sent, so that a restart neither loses nor repeats alerts.
  - Rate limits (HTTP 429 and C(Retry-After)), expired or revoked tokens, network failures and answers that are not
    what the API sends are logged and retried with a growing delay; the source does not stop on them. Invalid
    arguments stop it at once, before any request.
  - Takes the same connection options, with the same environment variables, as the collection's modules
    (O(tenant_id), O(client_id), O(client_secret), O(api_url), O(ca_path) and the others of
    C(plugins/doc_fragments/connection.py)); docs/eda.md lists them.
  - The app registration needs the C(Alert.Read.All) application permission.
options:
  interval:
    description:
      - Seconds between two polls.
      - Falls back to the E(MDE_ALERTS_INTERVAL) environment variable.
    type: float
    default: 60
  severity:
    description:
      - Only alerts of these severities (C(UnSpecified), C(Informational), C(Low), C(Medium), C(High)). All when unset.
      - A list, or a comma-separated string (also for O(status) and O(category)).
      - Falls back to the E(MDE_ALERTS_SEVERITY) environment variable.
    type: list
    elements: str
  status:
    description:
      - Only alerts with these statuses (C(Unknown), C(New), C(InProgress), C(Resolved)). All when unset.
      - Falls back to the E(MDE_ALERTS_STATUS) environment variable.
    type: list
    elements: str
  category:
    description:
      - Only alerts of these categories, for example C(Malware) or C(SuspiciousActivity). All when unset.
      - Falls back to the E(MDE_ALERTS_CATEGORY) environment variable.
    type: list
    elements: str
  lookback:
    description:
      - On the first start (no state file), how far back to look for alerts, as an age (C(30m), C(24h), C(7d)) or an
        ISO 8601 date and time. The default C(0s) sends only alerts changed from now on.
      - Ignored once the state file exists.
      - Falls back to the E(MDE_ALERTS_LOOKBACK) environment variable.
    type: str
    default: 0s
  overlap:
    description:
      - Seconds before the newest update already sent that each poll looks again, so that an alert the API lists late
        is still sent. Alerts already sent in that window are not sent again.
      - Falls back to the E(MDE_ALERTS_OVERLAP) environment variable.
    type: float
    default: 300
  page_size:
    description:
      - Alerts asked for per request (C($top)), at most 10000.
      - Falls back to the E(MDE_ALERTS_PAGE_SIZE) environment variable.
    type: int
    default: 1000
  state_file:
    description:
      - Path of the JSON file holding the cursor and the alerts sent within the overlap window; written (0600)
        after every event. Give each source its own file, on storage that outlives a restart.
      - Default C($XDG_STATE_HOME/mde.response/alerts-<hash>.json) (C(~/.local/state/...) without
        E(XDG_STATE_HOME)), the hash taken over O(api_url), O(tenant_id), O(client_id) and the filters.
      - Falls back to the E(MDE_ALERTS_STATE_FILE) environment variable.
    type: path
"""

EXAMPLES = r"""
- name: Quarantine files of high-severity Defender alerts
  hosts: localhost
  sources:
    - mde.response.alerts:
        severity: [High]
        interval: 60
        state_file: /var/lib/eda/mde-alerts.json
  rules:
    - name: High-severity alert with a file
      condition: event.alert.severity == "High" and event.sha1s is select('search', '^[0-9a-f]{40}$')
      action:
        debug:
          msg: "{{ event.alert.id }} on {{ event.alert.computerDnsName }}: {{ event.sha1s }}"
"""


def _importable_collection():
    # ansible-rulebook loads the file by path; its module_utils are found through the collections folder above it.
    try:
        import ansible_collections.mde.response  # pylint: disable=import-outside-toplevel,unused-import  # noqa: F401
    except ImportError:
        # Not resolved: a collections folder may hold the collection as a symlink.
        here = Path(os.path.abspath(__file__))
        if len(here.parents) > 7 and here.parents[6].name == "ansible_collections":
            sys.path.insert(0, str(here.parents[7]))


_importable_collection()

# pylint: disable=wrong-import-position
from ansible_collections.mde.response.plugins.module_utils._alerts.feed import (  # noqa: E402
    AlertPoll, FeedOptions, FeedState, alert_event, backoff, connection_values)
from ansible_collections.mde.response.plugins.module_utils._client.api import ALERTS_PATH  # noqa: E402
from ansible_collections.mde.response.plugins.module_utils._client.clock import clock_from_environment  # noqa: E402
from ansible_collections.mde.response.plugins.module_utils._client.factory import build_client, missing_libraries  # noqa: E402
from ansible_collections.mde.response.plugins.module_utils.errors import AuthenticationError, InputError, MdeError  # noqa: E402
from ansible_collections.mde.response.plugins.module_utils._client.settings import ConnectionSettings  # noqa: E402

LOGGER = logging.getLogger("mde.response.alerts")


async def main(queue, args):
    """Send an event per new or changed alert to ``queue`` until cancelled; raises only for invalid arguments."""
    connection = connection_values(args, os.environ)
    options = FeedOptions(args, connection, datetime.now(timezone.utc))
    settings = ConnectionSettings.from_options(connection)
    if missing_libraries():
        raise InputError("mde.response.alerts needs the Python libraries requests and msal; install them into the "
                         "Python that runs ansible-rulebook: python3 -m pip install 'requests>=2.28.0' 'msal>=1.35.0'")
    clock, clock_warning = clock_from_environment(os.environ)
    if clock_warning:
        LOGGER.warning(clock_warning)
    client = build_client(settings, clock)
    for warning in settings.warnings:
        LOGGER.warning(warning)
    state = FeedState.load(options.state_file, options.start, options.overlap)
    if state.warning:
        LOGGER.warning(state.warning)
    LOGGER.info("polling %s%s every %gs from %s; state in %s", settings.api_url, ALERTS_PATH, options.interval,
                state.lower_bound().isoformat(), options.state_file)
    failures = 0
    while True:
        try:
            sent = await _poll(queue, client, options, state)
        except MdeError as error:
            failures += 1
            delay = backoff(failures, options.interval)
            LOGGER.error("polling alerts failed (%d in a row): %s; trying again in %g s. %s", failures, error, delay,
                         _what_to_do(error))
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as error:
            # An answer of an unexpected shape, or a state file that cannot be written: never a reason to stop.
            failures += 1
            delay = backoff(failures, options.interval)
            LOGGER.error("polling alerts failed (%d in a row): %s: %s; trying again in %g s", failures,
                         type(error).__name__, error, delay)
        else:
            if failures:
                LOGGER.info("polling alerts works again after %d failed polls", failures)
            failures, delay = 0, options.interval
            LOGGER.debug("poll done: %d events", sent)
        await asyncio.sleep(delay)


async def _poll(queue, client, options, state):
    poll = AlertPoll(options, state)
    sent = 0
    while not poll.done:
        answer = await _in_daemon_thread(functools.partial(client.alerts_page, poll.params()))
        fresh = poll.take(answer["value"])
        for reason in poll.skipped:
            LOGGER.warning("left out %s", reason)
        poll.skipped.clear()
        for alert in fresh:
            await queue.put(alert_event(alert))
            state.record(alert)
            state.save()
            sent += 1
    # Also after a poll without alerts: a first start's lower bound must outlive a restart.
    state.save()
    return sent


async def _in_daemon_thread(function):
    """Run a blocking call without blocking the event loop, in a thread that never holds up the process's exit
    (ansible-rulebook cancels sources on shutdown, and an HTTP call may be waiting out a Retry-After)."""
    loop = asyncio.get_running_loop()
    future = loop.create_future()

    def settle(setter, value):
        if not future.done():
            setter(value)

    def run():
        try:
            result = function()
        except BaseException as error:  # pylint: disable=broad-exception-caught  # handed to the awaiting task
            outcome = (future.set_exception, error)
        else:
            outcome = (future.set_result, result)
        try:
            loop.call_soon_threadsafe(settle, *outcome)
        except RuntimeError:
            pass      # the loop is closed: nobody waits for the answer any more

    threading.Thread(target=run, name="mde-alerts-poll", daemon=True).start()
    return await future


def _what_to_do(error):
    status = getattr(error, "http_status", None)
    if status == 403:
        return "Grant the app the Alert.Read.All application permission (WindowsDefenderATP) with admin consent."
    if status == 401 or isinstance(error, AuthenticationError):
        return "Check the credentials (tenant_id, client_id, client_secret or certificate)."
    if status == 429:
        return "Another client shares the app's rate limits; a longer interval leaves more room."
    return "The source keeps trying; check the network path to the API if this repeats."
