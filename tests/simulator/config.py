"""Every switch of the simulator, with the real service's documented behaviour as the default.

Where ../shared reference notes mark a behaviour of the real API as unconfirmed, it is a switch here, so that
the collection can be tested against each plausible variant. The comments give the reason for each default.
"""

from dataclasses import dataclass, field, fields

TENANT_ID = "8f0c4d5e-5a3b-4c1e-9d2f-0a1b2c3d4e5f"
CLIENT_ID = "3b4c5d6e-7f80-4912-a3b4-c5d6e7f80912"
CERT_CLIENT_ID = "5d6e7f80-9123-4b45-c6d7-e8f901234567"
MANAGED_IDENTITY_CLIENT_ID = "7f809123-4567-4d89-e0f1-23456789abcd"

# Application roles of the default app: what the collection's documentation asks users to grant.
DEFAULT_ROLES = ("Machine.Read.All", "Machine.StopAndQuarantine", "File.Read.All", "Alert.Read.All", "Ti.ReadWrite.All")

# Token audiences the API accepts: the legacy resource (the documented scope for every host) and its App ID URI.
DEFAULT_AUDIENCES = (
    "https://api.securitycenter.microsoft.com",
    "https://securitycenter.onmicrosoft.com/windowsatpservice",
)
# Audiences clients also use (docs/api-fidelity.md): the current host (Microsoft Q&A) and the legacy host (a managed
# identity in Sentinel's Restrict-MDEFileHash template). Not accepted by default: the docs never show them as scopes.
OTHER_KNOWN_AUDIENCES = (
    "https://api.security.microsoft.com",
    "https://api.securitycenter.windows.com",
)


@dataclass
class SimulatorConfig:
    # Accelerated clock: simulated seconds per real second (rate-limit windows, lifecycle, Retry-After).
    clock_speed: float = 1.0
    # Extra latency of every API call, in simulated milliseconds (real sleep = latency / clock_speed).
    latency_ms: float = 0.0

    # Rate limits: documented as 100 calls a minute and 1,500 an hour per API per application (app + tenant).
    rate_limits_enabled: bool = True
    rate_limit_per_minute: int = 100
    rate_limit_per_hour: int = 1500
    # Unconfirmed whether each API has its own bucket ("per_route", documented per API) or one is shared.
    rate_limit_scope: str = "per_route"          # "per_route" | "shared"

    # A StopAndQuarantineFile POST for a file that already has a Pending/InProgress action on the machine.
    # Documented for other actions as 400 "Action is already in progress"; live response documents the code
    # ActiveRequestAlreadyExists; some duplicates returned the existing pending action with 201.
    duplicate_response: str = "active_request_exists"
    # "active_request_exists": 400 {code: ActiveRequestAlreadyExists, message: "Action is already in progress"}
    # "already_in_progress":   400 {code: BadRequest, message: "Action is already in progress"}
    # "return_existing":       201 with the existing in-flight action
    # "mixed":                 alternates between 400 ActiveRequestAlreadyExists and 201 existing
    # "create_new":            no duplicate detection at all (the least kind variant)
    # The same choice for one action type only, e.g. {"StopAndQuarantineFile": "return_existing"}: the docs give
    # the two answers per action page, so each type may behave differently. A collection while one runs is
    # documented as "400 Bad Request" (collect-investigation-package.md), hence its default.
    duplicate_response_by_type: dict = field(default_factory=lambda: {"CollectInvestigationPackage": "already_in_progress"})
    # Whether an in-flight action of the same type but another IsolationType / ScanType is a duplicate (an isolate
    # Selective while an isolate Full is pending, a Full scan while a Quick one runs): unconfirmed. False: a new action.
    duplicate_ignores_scope: bool = True
    # A request that undoes an action still in flight on the machine (Unisolate while an Isolate is Pending or
    # InProgress, Isolate while an Unisolate is, and the same for RestrictCodeExecution / UnrestrictCodeExecution):
    # unconfirmed. #5903 saw isolate, a duplicate, then two unisolates complete out of order and leave the device
    # isolated, so that is the default. "out_of_order": 201, the new action finishes first and the earlier one
    # after it (its effect stays); "in_order": 201, the new action waits for the earlier one to finish;
    # "refused": 400 ActiveRequestAlreadyExists "Action is already in progress"; "return_pending": 2xx carrying
    # the earlier, opposite action (status duplicate_existing_status).
    crossed_request_response: str = "out_of_order"   # | "in_order" | "refused" | "return_pending"
    # The status of a 2xx duplicate: the docs say it "returns a pending machine action"; a new action is 201.
    duplicate_existing_status: int = 201          # 201 | 200

    # A POST after an earlier action for the same file Succeeded: unconfirmed. Either a new action is created,
    # or the file is gone from the machine and the API says ResourceNotFound.
    resubmit_after_success: str = "create"       # "create" | "file_not_found"
    # Status of "Sha1 ... was not found in machine ...": the error table maps ResourceNotFound to 404.
    file_not_found_status: int = 404
    # GET /api/files/{id} for a file the tenant has no record of: documented as 404, the body is not (get-file-information.md).
    # "resource_not_found": ResourceNotFound "File <id> was not found" (the wording of the other 404s);
    # "not_found": the table's general NotFound; "no_body": 404 with an empty body.
    unknown_file_response: str = "resource_not_found"   # | "not_found" | "no_body"
    # Which files GET /api/files/{id} knows: unconfirmed for a file that no machine of the tenant holds any more.
    # "recorded": every file the tenant has a record of (added, or observed by any machine, even one past the
    # retention period, or in an alert's evidence); "retained_observers": only a file observed by a machine still
    # within the retention period, anything else is answered as unknown.
    file_lookup_scope: str = "recorded"          # | "retained_observers"
    # A POST for a file the machine has not observed. "refuse": the synchronous ResourceNotFound above (seen in a
    # third-party log, common-errors.md). "fail_later": 201, then the action ends Failed with errorHResult 0x80070002 (file not
    # found) and troubleshootInfo naming the file; "fail_later_unexplained": the same with the generic E_FAIL and
    # nothing saying why. No client shows either of the later variants (docs/api-fidelity.md, low confidence).
    file_absent_response: str = "refuse"          # "refuse" | "fail_later" | "fail_later_unexplained"

    # New actions show up in GET /api/machineactions only after this many simulated seconds (GET by id at once).
    list_lag_seconds: float = 0.0
    # Default order of GET /api/machineactions (without $orderby): the doc calls $top=2 "the latest two",
    # unconfirmed. "unordered" is a stable order unrelated to time (by id), what a client must survive.
    list_order: str = "newest_first"             # "newest_first" | "oldest_first" | "unordered"
    # Server-driven paging: how many entities one answer holds at most ("Maximum page size is 10,000", get-machineactions-collection.md, get-machines.md).
    # Smaller values let a test see paging without seeding 10,000 entities.
    max_page_size: int = 10_000
    # When an answer carries @odata.nextLink. "server_paging": only when the page size (not $top) cut the answer,
    # as ASP.NET OData does and as #8489 (none with $top) and #8316 (one without $top) show on /api/machines;
    # "always": whenever more matches follow the page, $top or not (what a client following links expects);
    # "never": as every documented example of machineactions shows.
    next_link: str = "server_paging"             # "server_paging" | "always" | "never"
    # On /api/machines the link always says $skip=10000, so following it loops (#8316); False gives a correct link.
    machines_next_link_loops: bool = True
    # A server that ignores $skip and answers every page from the first entity on (never seen; what a client must
    # not read forever, as a proxy or gateway that drops query options would make it). A link, when one is sent,
    # still says the next $skip.
    ignore_skip: bool = False
    # Casing of relatedFileInfo.fileIdentifier in answers: unconfirmed (examples are lowercase).
    file_identifier_case: str = "lower"          # "lower" | "upper" | "as_sent"
    # Which last-update field actions carry: the real one, the one in list examples, or both.
    last_update_field: str = "lastUpdateDateTimeUtc"   # | "lastUpdateTimeUtc" | "both"
    # 403 message wording: the 2021 "does not have any of the required application permissions (...)" or the
    # newer "Missing application roles. API required roles: ..., application roles: ..." (2026). Both are quoted
    # from real answers; the older one stays the default because it is the one seen for StopAndQuarantineFile.
    forbidden_format: str = "legacy"             # "legacy" | "roles"
    # GET /api/machines with no machines: the doc says 404.
    machines_empty_404: bool = True
    # isPotentialDuplication and mergedIntoMachineId on machines: seen in clients' code (re-onboarded devices leave
    # their old entry behind), not in machine.md. False lists machines without them.
    machine_duplicate_fields: bool = True

    # Action lifecycle, in simulated seconds after creation: Pending, then InProgress, then the machine's
    # final status (its quarantine_outcome: Succeeded, Failed, TimeOut; "Pending" = offline, never picks up).
    pending_seconds: float = 5.0
    in_progress_seconds: float = 10.0

    # POST /machineactions/{id}/cancel: "cancels" or "ignored" (answers 200 but the action stays as it was,
    # as seen in the wild for another action type).
    cancel_effect: str = "cancels"               # "cancels" | "ignored"
    # Cancelling an action that is already final: unconfirmed. 400 BadRequest, or 200 leaving it unchanged.
    cancel_final_response: int = 400             # 400 | 200
    # The error code of that 400: unconfirmed (two clients handle "already cancelled" without quoting a code).
    cancel_final_code: str = "BadRequest"
    # Cancelling an action the machine has already picked up (InProgress): it reads Cancelled, but the machine
    # may have carried the command out, which shows as commands[0].commandStatus "Completed" (Kibana's
    # isPartialCancelScenario). Seen for live response; StopAndQuarantineFile answers show "commands": [].
    cancel_after_completion: bool = False

    # Which judgement an alert's File and Process evidence carries. "documented": the MDE API's
    # documented entry, whose only judgement is detectionStatus (Detected, Blocked, Prevented or null) and which names
    # no signer; "with_verdict": also Graph alerts_v2's verdict (malicious, suspicious, noThreatsFound, unknown) and
    # remediationStatus, and fileDetails with signer and issuer, unconfirmed for /api/alerts.
    alert_evidence_fields: str = "documented"    # "documented" | "with_verdict"
    # Platforms on which the real service may run an action although its API page does not list them, per type:
    # {"Isolate": ["macOS"]} (macOS isolation through the API is not documented, #11102), or Windows Server
    # ("WindowsServer2019", ...) for the actions whose pages name Windows 10 and 11 only. Isolate's list applies to
    # Full and Selective; UnManagedDevice has no platform condition.
    extra_platforms_by_type: dict = field(default_factory=dict)
    # Isolate with IsolationType UnManagedDevice ("contain" a device Defender has seen but that is not onboarded):
    # the docs say it is for unmanaged devices, not what an onboarded one gets. "not_onboarded_only": 400 for a
    # machine whose onboardingStatus is Onboarded; "any_machine": accepted for every machine.
    unmanaged_isolation_scope: str = "not_onboarded_only"   # | "any_machine"
    # Any other action (but Unisolate) for a machine that is not onboarded, which has no sensor to carry it out:
    # unconfirmed. "refused": 400 BadRequest naming the onboarding status; "pending": 201, never picked up.
    unmanaged_device_actions: str = "refused"    # | "pending"
    # Whether Isolate, RestrictCodeExecution, RunAntiVirusScan, ... also need Machine.Read.All or
    # Machine.ReadWrite.All, as StopAndQuarantineFile does (#6055, always on for it): unconfirmed for the others.
    actions_need_read_role: bool = True
    # GET /api/machineactions/{id}/getPackageUri: "This link is valid for a short time" (get-package-sas-uri.md);
    # how short is not documented. After it, the download host answers 403 AuthenticationFailed as blob storage does.
    package_uri_lifetime_seconds: float = 300.0
    # The same call for an action that is not a CollectInvestigationPackage: unconfirmed (404 is what the docs give
    # for a collection that is not complete).
    package_uri_other_type_status: int = 404      # 404 | 400
    # Size of each simulated package in bytes (real ones are a few MB to tens of MB); the content is the same for
    # the same action and size.
    investigation_package_bytes: int = 256 * 1024
    # Whether the download host serves a Range (206 from the offset, as blob storage does) or ignores it and sends
    # the whole package again (200, no Accept-Ranges), as a proxy or another store in front of it may.
    package_download_ranges: str = "honoured"     # | "ignored"

    # A Microsoft-signed / trusted-publisher file: refused; the code is unconfirmed.
    signed_file_response: str = "disallowed_operation"   # 403 DisallowedOperation | "bad_request" (400 BadRequest)

    # Indicators (indicators.py). Documented: 15,000 active indicators per tenant, 500 per import call, and the
    # import route's own limit of 30 calls a minute (on top of the limits above); getPackageUri: 2 calls a minute
    # and 120 an hour (get-package-sas-uri.md).
    indicator_limit: int = 15000
    indicator_import_batch_size: int = 500
    route_rate_limits_per_minute: dict = field(default_factory=lambda: {"indicators.import": 30, "machineactions.getPackageUri": 2})
    route_rate_limits_per_hour: dict = field(default_factory=lambda: {"machineactions.getPackageUri": 120})
    # Unconfirmed: whether a hash is stored as sent or lower-cased, whether a submit finds the indicator to update
    # regardless of case, whether an update resets the optional fields it leaves out, and whether a blocking
    # indicator contains the copies machines already hold at once or only those they meet afterwards.
    indicator_value_case: str = "as_sent"        # "as_sent" | "lower"
    indicator_match_case: str = "insensitive"    # "insensitive" | "sensitive" (a second indicator per case)
    indicator_update_omitted: str = "reset"      # "reset" | "keep"
    # Documented: an update "will not update" application. "applied" is the API ignoring its own page.
    indicator_update_application: str = "ignored"  # "ignored" | "applied"
    indicator_contains_existing_copies: bool = False

    # Machine tags (tags.py). Documented: Value and Action required, up to 500 machines a bulk call. Unconfirmed: the
    # longest tag (None: no limit), whether a bulk call naming an unknown machine is refused whole ("refuse", 404
    # ResourceNotFound, nothing changed) or tags the others ("ignore"), whether tags compare ignoring case ("Vip"
    # added to a machine tagged "VIP" changes nothing and removing "vip" removes "VIP") or exactly, and whether the
    # bulk call answers with the updated machines or an empty 200.
    tag_max_length: int = 200
    tag_unknown_machines: str = "refuse"         # "refuse" | "ignore"
    tag_case: str = "insensitive"                # "insensitive" | "sensitive"
    tag_bulk_response: str = "machines"          # "machines" | "empty"

    # Token service
    token_lifetime_seconds: int = 3599
    # Resources the token service issues tokens for (scope "<audience>/.default"), on top of the US Government
    # API URLs; a tenant where one audience fails (#13126) is a list without it.
    audiences: tuple = DEFAULT_AUDIENCES
    # Audiences the API accepts in a bearer token; None: every audience the token service issues. A token for
    # another audience gets 401, as from any resource server.
    api_audiences: tuple = None

    def update(self, **switches):
        """Change switches by name; unknown names raise, so a typo in a test cannot pass silently."""
        known = {f.name for f in fields(self)}
        unknown = set(switches) - known
        if unknown:
            raise ValueError("unknown simulator switch(es): %s" % ", ".join(sorted(unknown)))
        for name, value in switches.items():
            setattr(self, name, value)

    def as_dict(self):
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class AppRegistration:
    """An Entra application (or managed identity) the token service knows."""
    client_id: str
    secret: str = None
    certificate_pem: bytes = None                # PEM certificate whose key signs client assertions
    roles: tuple = DEFAULT_ROLES
    tenant_id: str = TENANT_ID
    managed_identity: bool = False
    extra: dict = field(default_factory=dict)
