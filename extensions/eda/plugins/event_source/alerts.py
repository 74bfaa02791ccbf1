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
from typing import Any

DOCUMENTATION = r"""
---
short_description: Poll Microsoft Defender for Endpoint alerts and send one event per new or changed alert.
description:
  - Polls C(GET /api/alerts) with C($filter) on C(lastUpdateTime) and C($expand=evidence), and sends one event per
    alert that is new or whose C(lastUpdateTime) changed since it was last sent.
  - "Each event is C({alert: <the alert entity with its evidence>, sha1s: [<the SHA-1s selected for quarantine>],
    selection: [<every SHA-1 of the evidence: sha1, entityType, fileName, filePath, detectionStatus, verdict, selected,
    reason>], delivery: {reason: new|changed|resend|replay, attempt: <n>}}), so a rule can test
    C(event.alert.severity) and pass C(event.sha1s) and C(event.alert.machineId) on."
  - "A SHA-1 is selected only from C(File) evidence (and C(Process) evidence with O(include_processes)) that Defender
    judged: a C(verdict) of C(malicious) or C(suspicious) where the entry has one, else a C(detectionStatus) of
    C(Detected), C(Blocked) or C(Prevented). A binary signed by Microsoft (C(signer), C(issuer) or C(filePublisher),
    also under C(fileDetails)) or in a Windows system folder (C(C:\\Windows) itself, C(System32), C(SysWOW64),
    C(WinSxS) and others, Windows Defender's own folders) is never selected."
  - A cursor state file (O(state_file)) records what was sent, so that a restart neither loses nor repeats alerts.
  - An alert with SHA-1s selected is sent again every O(resend_interval) seconds (re-read by id) until a
    StopAndQuarantineFile action exists on its machine for each of them (Pending, InProgress, or Succeeded since a
    day before the alert), it is resolved, or the API no longer lists it; so a playbook run that failed is tried
    again. The source logs each alert received, sent, held back or skipped, and why.
  - Rate limits (HTTP 429 and C(Retry-After)), expired or revoked tokens, network failures and answers that are not
    what the API sends are logged and retried with a growing delay; the source does not stop on them. Invalid
    arguments stop it at once, before any request.
  - Takes the same connection options, with the same environment variables, as the collection's modules
    (O(tenant_id), O(client_id), O(client_secret), O(api_url), O(ca_path) and the others of
    C(plugins/doc_fragments/connection.py)); docs/eda.md lists them.
  - The app registration needs the C(Alert.Read.All) application permission, and C(Machine.Read.All) to see that an
    alert's action exists (without it, an alert is sent again until it is resolved).
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
  include_processes:
    description:
      - Also select the SHA-1 of C(Process) evidence (the image of a process involved in the alert) that Defender
        judged malicious or suspicious. Microsoft-signed binaries and those in Windows system folders stay out.
      - Falls back to the E(MDE_ALERTS_INCLUDE_PROCESSES) environment variable.
    type: bool
    default: false
  resend_interval:
    description:
      - Seconds after which an alert whose action does not exist yet is sent again (with C(delivery.reason) C(resend)
        and the next C(delivery.attempt)). C(0) never sends an alert again unless it changes.
      - Make it longer than a playbook run takes, queue included (ansible-rulebook runs them one after the other).
        A resend that comes while the first run is still queued runs the playbook once more, which finds the action
        and creates nothing, but costs a run.
      - Falls back to the E(MDE_ALERTS_RESEND_INTERVAL) environment variable.
    type: float
    default: 900
  replay:
    description:
      - Alert ids to read and send once more at start, whatever the state file says (C(delivery.reason) C(replay)).
        Each start replays them again, so unset it once done.
      - Falls back to the E(MDE_ALERTS_REPLAY) environment variable (comma-separated ids).
    type: list
    elements: str
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
    RESOLVED, AlertPoll, FeedOptions, FeedState, alert_event, backoff, connection_values, describe_event,
    machine_actions_or_none, missing_actions, tracked_alerts)
from ansible_collections.mde.response.plugins.module_utils._client.api import ALERTS_PATH, DefenderClient  # noqa: E402
from ansible_collections.mde.response.plugins.module_utils._client.clock import Clock, clock_from_environment  # noqa: E402
from ansible_collections.mde.response.plugins.module_utils._client.factory import build_client, missing_libraries  # noqa: E402
from ansible_collections.mde.response.plugins.module_utils.errors import AuthenticationError, InputError, MdeError  # noqa: E402
from ansible_collections.mde.response.plugins.module_utils._actions.existing_actions import machine_actions_of  # noqa: E402
from ansible_collections.mde.response.plugins.module_utils._model.entities import STOP_AND_QUARANTINE  # noqa: E402
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
    LOGGER.info("polling %s%s every %gs from %s; state in %s; alerts whose action does not exist yet are sent again "
                "every %gs", settings.api_url, ALERTS_PATH, options.interval, state.lower_bound().isoformat(),
                options.state_file, options.resend_interval)
    feed = _Feed(queue, client, options, state, clock)
    replay = list(options.replay)
    failures = 0
    while True:
        try:
            if replay:
                await feed.send_again(replay, "replay")
                replay = []
            sent = await feed.poll()
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


class _Feed:
    """The source's polls: new and changed alerts, then the tracked alerts due to be sent again."""

    def __init__(self, queue: asyncio.Queue, client: DefenderClient, options: FeedOptions, state: FeedState,
                 clock: Clock) -> None:
        self._queue = queue
        self._client = client
        self._options = options
        self._state = state
        self._clock = clock

    async def poll(self) -> int:
        poll = AlertPoll(self._options, self._state)
        sent = 0
        while not poll.done:
            answer = await self._list(poll.params())
            fresh = poll.take(answer["value"])
            for reason in poll.skipped:
                LOGGER.warning("skipped %s", reason)
            poll.skipped.clear()
            for alert in fresh:
                known = alert["id"] in self._state.delivered or alert["id"] in self._state.pending
                LOGGER.info("received alert %s (%s, status %s, lastUpdateTime %s)", alert["id"],
                            "changed" if known else "new", alert.get("status"), alert["lastUpdateTime"])
                # A change keeps the attempt number, so that the rulebook's throttle lets only a resend through.
                await self._send(alert_event(alert, self._options.include_processes, "changed" if known else "new",
                                             max(1, self._state.attempts(alert["id"]))), None)
                sent += 1
        due, held = self._state.due(self._clock.now(), self._options.resend_interval)
        for alert_id, left in held:
            LOGGER.info("held back alert %s: sent %d time(s), its action not seen yet; sent again in %.0fs unless "
                        "its action exists or it is resolved", alert_id, self._state.attempts(alert_id), left)
        if due:
            sent += await self.send_again(due, "resend")
        # Also after a poll without alerts: a first start's lower bound must outlive a restart.
        self._state.save()
        return sent

    async def send_again(self, alert_ids: list[str], reason: str) -> int:
        """Read these alerts again by id and send those still to act on (``resend``), or all found (``replay``)."""
        found = await _in_daemon_thread(functools.partial(tracked_alerts, self._list_now, alert_ids))
        sent = 0
        for alert_id in alert_ids:
            alert = found.get(alert_id)
            if alert is None:
                LOGGER.warning("skipped alert %s: the API does not list it (a wrong id, deleted, or past its "
                               "retention), so it is not sent", alert_id)
                self._state.forget(alert_id)
                continue
            event = alert_event(alert, self._options.include_processes, reason, self._state.attempts(alert_id) + 1)
            why = "asked for with replay (MDE_ALERTS_REPLAY); unset it once done, or each start replays it again"
            if reason == "resend":
                why = await self._still_to_do(event)
                if why is None:
                    self._state.forget(alert_id)
                    continue
            await self._send(event, why)
            sent += 1
        return sent

    async def _still_to_do(self, event: dict[str, Any]) -> str | None:
        """Why a tracked alert is sent again, or None (logged) when it is not."""
        alert = event["alert"]
        if alert.get("status") == RESOLVED:
            LOGGER.info("skipped alert %s: it is resolved, so it is not sent again", alert["id"])
            return None
        if not event["sha1s"]:
            LOGGER.info("skipped alert %s: none of its evidence is selected any more, so it is not sent again (%s)",
                        alert["id"], describe_event(event))
            return None
        read = functools.partial(machine_actions_of, self._client, alert["machineId"], (STOP_AND_QUARANTINE,))
        actions, problem = await _in_daemon_thread(functools.partial(machine_actions_or_none, read))
        if problem:
            LOGGER.warning("alert %s: %s", alert["id"], problem)
            return problem
        missing = missing_actions(event, actions)
        if not missing:
            LOGGER.info("alert %s is done: machine %s has a quarantine action for %s, so it is not sent again",
                        alert["id"], alert["machineId"], ", ".join(event["sha1s"]))
            return None
        return "machine %s has no quarantine action yet for %s" % (alert["machineId"], ", ".join(missing))

    async def _send(self, event: dict[str, Any], why: str | None) -> None:
        alert = event["alert"]
        await self._queue.put(event)
        self._state.record(alert)
        # Without resending, nothing would ever take a tracked alert out of the state file again.
        tracked = bool(self._options.resend_interval) and self._state.track(event, self._clock.now())
        self._state.save()
        LOGGER.info("sent alert %s (%s, attempt %d)%s: %s; %s", alert["id"], event["delivery"]["reason"],
                    event["delivery"]["attempt"], " because " + why if why else "", describe_event(event),
                    "sent again in %gs unless its action exists or it is resolved" % self._options.resend_interval
                    if tracked else "not sent again unless it changes")

    async def _list(self, params: dict[str, str]) -> dict[str, Any]:
        return await _in_daemon_thread(functools.partial(self._list_now, params))

    def _list_now(self, params: dict[str, str]) -> dict[str, Any]:
        return self._client.alerts_page(params)


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
