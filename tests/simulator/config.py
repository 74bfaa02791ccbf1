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
DEFAULT_ROLES = ("Machine.Read.All", "Machine.StopAndQuarantine", "File.Read.All", "Alert.Read.All")

# Token audiences the API accepts: the legacy resource (the documented scope for every host) and its App ID URI.
DEFAULT_AUDIENCES = (
    "https://api.securitycenter.microsoft.com",
    "https://securitycenter.onmicrosoft.com/windowsatpservice",
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

    # A POST after an earlier action for the same file Succeeded: unconfirmed. Either a new action is created,
    # or the file is gone from the machine and the API says ResourceNotFound.
    resubmit_after_success: str = "create"       # "create" | "file_not_found"
    # Status of "Sha1 ... was not found in machine ...": the error table maps ResourceNotFound to 404.
    file_not_found_status: int = 404

    # New actions show up in GET /api/machineactions only after this many simulated seconds (GET by id at once).
    list_lag_seconds: float = 0.0
    # Default order of GET /api/machineactions: the doc calls $top=2 "the latest two", unconfirmed.
    list_order: str = "newest_first"             # "newest_first" | "oldest_first"
    # Casing of relatedFileInfo.fileIdentifier in answers: unconfirmed (examples are lowercase).
    file_identifier_case: str = "lower"          # "lower" | "upper" | "as_sent"
    # Which last-update field actions carry: the real one, the one in list examples, or both.
    last_update_field: str = "lastUpdateDateTimeUtc"   # | "lastUpdateTimeUtc" | "both"
    # 403 message wording: the 2021 "does not have any of the required application permissions (...)" or the
    # 2026 "Missing application roles. API required roles: ..., application roles: ...".
    forbidden_format: str = "legacy"             # "legacy" | "roles"
    # GET /api/machines with no machines: the doc says 404.
    machines_empty_404: bool = True

    # Action lifecycle, in simulated seconds after creation: Pending, then InProgress, then the machine's
    # final status (its quarantine_outcome: Succeeded, Failed, TimeOut; "Pending" = offline, never picks up).
    pending_seconds: float = 5.0
    in_progress_seconds: float = 10.0

    # POST /machineactions/{id}/cancel: "cancels" or "ignored" (answers 200 but the action stays as it was,
    # as seen in the wild for another action type).
    cancel_effect: str = "cancels"               # "cancels" | "ignored"
    # Cancelling an action that is already final: unconfirmed. 400 BadRequest, or 200 leaving it unchanged.
    cancel_final_response: int = 400             # 400 | 200

    # A Microsoft-signed / trusted-publisher file: refused; the code is unconfirmed.
    signed_file_response: str = "disallowed_operation"   # 403 DisallowedOperation | "bad_request" (400 BadRequest)

    # Token service
    token_lifetime_seconds: int = 3599
    audiences: tuple = DEFAULT_AUDIENCES

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
