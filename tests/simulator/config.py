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
# Audiences clients also use (reference §12): the current host (Microsoft Q&A) and the legacy host (a managed
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
    # the two answers per action page, so each type may behave differently.
    duplicate_response_by_type: dict = field(default_factory=dict)
    # The status of a 2xx duplicate: the docs say it "returns a pending machine action"; a new action is 201.
    duplicate_existing_status: int = 201          # 201 | 200

    # A POST after an earlier action for the same file Succeeded: unconfirmed. Either a new action is created,
    # or the file is gone from the machine and the API says ResourceNotFound.
    resubmit_after_success: str = "create"       # "create" | "file_not_found"
    # Status of "Sha1 ... was not found in machine ...": the error table maps ResourceNotFound to 404.
    file_not_found_status: int = 404
    # GET /api/files/{id} for a file the tenant has no record of: documented as 404, the body is not (§10).
    # "resource_not_found": ResourceNotFound "File <id> was not found" (the wording of the other 404s);
    # "not_found": the table's general NotFound; "no_body": 404 with an empty body.
    unknown_file_response: str = "resource_not_found"   # | "not_found" | "no_body"
    # Which files GET /api/files/{id} knows: unconfirmed for a file that no machine of the tenant holds any more.
    # "recorded": every file the tenant has a record of (added, or observed by any machine, even one past the
    # retention period, or in an alert's evidence); "retained_observers": only a file observed by a machine still
    # within the retention period, anything else is answered as unknown.
    file_lookup_scope: str = "recorded"          # | "retained_observers"
    # A POST for a file the machine has not observed. "refuse": the synchronous ResourceNotFound above (seen in a
    # third-party log, §5). "fail_later": 201, then the action ends Failed with errorHResult 0x80070002 (file not
    # found) and troubleshootInfo naming the file; "fail_later_unexplained": the same with the generic E_FAIL and
    # nothing saying why. No client shows either of the later variants (§12, low confidence).
    file_absent_response: str = "refuse"          # "refuse" | "fail_later" | "fail_later_unexplained"

    # New actions show up in GET /api/machineactions only after this many simulated seconds (GET by id at once).
    list_lag_seconds: float = 0.0
    # Default order of GET /api/machineactions (without $orderby): the doc calls $top=2 "the latest two",
    # unconfirmed. "unordered" is a stable order unrelated to time (by id), what a client must survive.
    list_order: str = "newest_first"             # "newest_first" | "oldest_first" | "unordered"
    # Server-driven paging: how many entities one answer holds at most ("Maximum page size is 10,000", §2, §3).
    # Smaller values let a test see paging without seeding 10,000 entities.
    max_page_size: int = 10_000
    # When an answer carries @odata.nextLink. "server_paging": only when the page size (not $top) cut the answer,
    # as ASP.NET OData does and as #8489 (none with $top) and #8316 (one without $top) show on /api/machines;
    # "always": whenever more matches follow the page, $top or not (what a client following links expects);
    # "never": as every documented example of machineactions shows.
    next_link: str = "server_paging"             # "server_paging" | "always" | "never"
    # On /api/machines the link always says $skip=10000, so following it loops (#8316); False gives a correct link.
    machines_next_link_loops: bool = True
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

    # A Microsoft-signed / trusted-publisher file: refused; the code is unconfirmed.
    signed_file_response: str = "disallowed_operation"   # 403 DisallowedOperation | "bad_request" (400 BadRequest)

    # Indicators (indicators.py). Documented: 15,000 active indicators per tenant, 500 per import call, and the
    # import route's own limit of 30 calls a minute (on top of the limits above).
    indicator_limit: int = 15000
    indicator_import_batch_size: int = 500
    route_rate_limits_per_minute: dict = field(default_factory=lambda: {"indicators.import": 30})
    # Unconfirmed: whether a hash is stored as sent or lower-cased, whether a submit finds the indicator to update
    # regardless of case, whether an update resets the optional fields it leaves out, and whether a blocking
    # indicator contains the copies machines already hold at once or only those they meet afterwards.
    indicator_value_case: str = "as_sent"        # "as_sent" | "lower"
    indicator_match_case: str = "insensitive"    # "insensitive" | "sensitive" (a second indicator per case)
    indicator_update_omitted: str = "reset"      # "reset" | "keep"
    indicator_contains_existing_copies: bool = False

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
