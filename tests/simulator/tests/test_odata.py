"""The simulator's OData $filter/$orderby/$top/$skip handling, on a small entity type of its own."""

from urllib.parse import urlencode

import pytest

from tests.simulator import odata
from tests.simulator.odata import BOOLEAN, DATETIME, INT64, STRING, STRING_COLLECTION, EntityType, Property

THING = EntityType("Thing", [
    Property("name", STRING, True),
    Property("tags", STRING_COLLECTION, True),
    Property("seen", DATETIME, True),
    Property("size", INT64, True),
    Property("flag", BOOLEAN, True),
    Property("secret", STRING),
])

THINGS = [
    {"name": "alpha", "tags": ["red", "big"], "seen": "2024-01-01T00:00:00.0000000Z", "size": 1, "flag": True, "secret": "s"},
    {"name": "beta", "tags": ["blue"], "seen": "2024-06-15T12:30:00.1234567Z", "size": 20, "flag": False, "secret": "s"},
    {"name": "gamma's", "tags": [], "seen": "2025-01-01T00:00:00.0000000Z", "size": 300, "flag": False, "secret": "s"},
    {"name": None, "tags": ["red"], "seen": None, "size": None, "flag": None, "secret": "s"},
]


def names(expression):
    predicate = odata.compile_filter(expression, THING)
    return [thing["name"] for thing in THINGS if predicate(thing)]


def error_of(expression):
    with pytest.raises(odata.ODataError) as raised:
        odata.compile_filter(expression, THING)
    return raised.value.message


@pytest.mark.parametrize("expression, expected", [
    ("name eq 'beta'", ["beta"]),
    ("name ne 'beta'", ["alpha", "gamma's", None]),
    ("size gt 20", ["gamma's"]),
    ("size ge 20", ["beta", "gamma's"]),
    ("size lt 20", ["alpha"]),
    ("size le 20", ["alpha", "beta"]),
    ("name gt 'b'", ["beta", "gamma's"]),
    ("flag eq true", ["alpha"]),
    ("flag eq false", ["beta", "gamma's"]),
    ("name eq null", [None]),
    ("name ne null", ["alpha", "beta", "gamma's"]),
    ("size gt null", []),
    ("size eq 1.0", ["alpha"]),
])
def test_comparisons(expression, expected):
    assert names(expression) == expected


@pytest.mark.parametrize("expression, expected", [
    ("seen gt 2024-06-01T00:00:00Z", ["beta", "gamma's"]),
    ("seen ge 2024-06-15T12:30:00.1234567Z", ["beta", "gamma's"]),
    ("seen gt 2024-06-15T12:30:00.1234567Z", ["gamma's"]),
    ("seen lt 2024-01-01T02:00:00+02:00", []),
    ("seen le 2024-01-01T02:00:00+02:00", ["alpha"]),
    ("seen gt 2024-06-01Z", ["beta", "gamma's"]),           # the docs' own date-only form (get-machines.md)
    ("seen lt 2024-06-01", ["alpha"]),
    ("seen ge 2024-06-15T12:30Z", ["beta", "gamma's"]),
])
def test_datetimes(expression, expected):
    assert names(expression) == expected


@pytest.mark.parametrize("expression, expected", [
    ("name eq 'alpha' or name eq 'beta' and size eq 1", ["alpha"]),       # and binds tighter than or
    ("(name eq 'alpha' or name eq 'beta') and size eq 1", ["alpha"]),
    ("(name eq 'alpha' or name eq 'beta') and size eq 20", ["beta"]),
    ("not (name eq 'alpha')", ["beta", "gamma's", None]),                 # eq with null is false, not null
    ("not (size gt 1 and (flag eq false or name eq 'alpha'))", ["alpha", None]),
    ("not (size gt 1)", ["alpha"]),                                       # gt with null is null, and not null stays null
    ("not startswith(name,'a')", ["beta", "gamma's"]),
    ("((name eq 'beta'))", ["beta"]),
])
def test_logic_and_precedence(expression, expected):
    assert names(expression) == expected


@pytest.mark.parametrize("expression, expected", [
    ("startswith(name,'al')", ["alpha"]),
    ("endswith(name,'ta')", ["beta"]),
    ("contains(name,'mm')", ["gamma's"]),
    ("StartsWith(name, 'be')", ["beta"]),
    ("startswith(name,'A')", []),
    ("name in ('alpha', 'gamma''s')", ["alpha", "gamma's"]),
    ("size in (1, 300)", ["alpha", "gamma's"]),
    ("tags/any(tag: tag eq 'red')", ["alpha", None]),
    ("tags/any(t: startswith(t,'bl'))", ["beta"]),
    ("tags/any()", ["alpha", "beta", None]),
    ("tags/all(tag: tag eq 'red')", ["gamma's", None]),
    ("not tags/any(tag: tag eq 'red')", ["beta", "gamma's"]),
])
def test_functions_in_and_lambdas(expression, expected):
    assert names(expression) == expected


def test_property_names_are_case_insensitive_but_values_are_not():
    assert names("NAME eq 'beta'") == ["beta"]
    assert names("Name eq 'BETA'") == []


def test_quotes_are_escaped_by_doubling():
    assert names("name eq 'gamma''s'") == ["gamma's"]


def test_a_correctly_escaped_injection_matches_nothing():
    injected = "x' or name ne 'y"
    assert names("name eq '%s'" % injected.replace("'", "''")) == []
    # The same text pasted unescaped does change the query: the escaping is what protects it.
    assert names("name eq '%s'" % injected) == ["alpha", "beta", "gamma's", None]


@pytest.mark.parametrize("expression, message", [
    ("colour eq 'red'", "Could not find a property named 'colour' on type 'Thing'."),
    ("secret eq 's'", "The property 'secret' cannot be used in the $filter query option."),
    ("name eq", "Expression expected at position 7 in 'name eq'."),
    ("name eq 'a' 'b'", "Syntax error at position 12 in 'name eq 'a' 'b''."),
    ("name eq 'abc", "There is an unterminated string literal at position 8 in 'name eq 'abc'."),
    ("name == 'a'", "Syntax error: character '=' is not valid at position 5 in 'name == 'a''."),
    ("name EQ 'a'", "Syntax error at position 5 in 'name EQ 'a''."),
    ("(name eq 'a'", "')' expected at position 12 in '(name eq 'a''."),
    ("name", "The $filter expression must evaluate to a single boolean value."),
    ("size eq 'one'", "A binary operator with incompatible types was detected. Found operand types 'Edm.Int64' and 'Edm.String' "
                      "for operator kind 'Equal'."),
    ("seen gt '2024-01-01T00:00:00Z'", "A binary operator with incompatible types was detected. Found operand types 'Edm.DateTimeOffset' "
                                       "and 'Edm.String' for operator kind 'GreaterThan'."),
    ("tags eq 'red'", "A binary operator with incompatible types was detected. Found operand types 'Collection(Edm.String)' and "
                      "'Edm.String' for operator kind 'Equal'."),
    ("name eq 'a' and size", "A binary operator with incompatible types was detected. Found operand types 'Edm.Boolean' and "
                             "'Edm.Int64' for operator kind 'And'."),
    ("not name eq 'a'", "A unary operator with an incompatible type was detected. Found operand type 'Edm.String' for operator kind 'Not'."),
    ("name/any(x: x eq 'a')", "Any/All may only be used following a collection."),
    ("tags/any(x: x)", "The any expression must evaluate to a single boolean value."),
    ("tolower(name) eq 'a'", "An unknown function with name 'tolower' was found. This may also be a function import or a key lookup on a "
                             "navigation property, which is not allowed."),
    ("startswith(name)", "No function signature for the function with name 'startswith' matches the specified arguments. The function "
                         "signatures considered are: startswith(Edm.String Nullable=true, Edm.String Nullable=true)."),
])
def test_invalid_filters_are_refused_with_odata_messages(expression, message):
    assert error_of(expression) == message


@pytest.mark.parametrize("expression", [
    "seen gt 2024-01-01T00:00:00",          # a time of day without an offset
    "name eq alpha",                         # an unquoted string is a property
    "",
    "name eq 'a' and",
    "name in ()",
    "size in (1, 'a')",
])
def test_more_invalid_filters(expression):
    assert error_of(expression)


def options_of(query, raw=True):
    return odata.parse_query_options(query, urlencode(query) if raw else "", THING)


def test_query_options_default_to_everything():
    options = options_of({})
    assert (options.top, options.skip) == (None, 0)
    assert options.page(THINGS) == THINGS


def test_top_and_skip_page_after_filtering():
    options = options_of({"$filter": "name ne null", "$top": "2", "$skip": "1"})
    assert len(options.matching(THINGS)) == 3
    assert [thing["name"] for thing in options.page(THINGS)] == ["beta", "gamma's"]


def test_page_size_is_capped_at_ten_thousand_without_top():
    assert len(options_of({}).page([{}] * 10_001)) == 10_000


def test_top_accepts_the_maximum_and_refuses_more():
    assert options_of({"$top": "10000"}).top == 10_000
    with pytest.raises(odata.ODataError) as raised:
        options_of({"$top": "10001"})
    assert raised.value.message == "The limit of '10000' for Top query has been exceeded. The value from the incoming request is '10001'."


@pytest.mark.parametrize("name, value", [("$top", "abc"), ("$top", "-1"), ("$skip", "1.5"), ("$skip", "")])
def test_top_and_skip_must_be_non_negative_integers(name, value):
    with pytest.raises(odata.ODataError) as raised:
        options_of({name: value})
    assert raised.value.message == ("Invalid value '%s' for %s query option found. The %s query option requires a non-negative integer value."
                                    % (value, name, name))


def test_the_documented_stop_typo_gets_the_real_message_and_body():
    with pytest.raises(odata.ODataError) as raised:
        options_of({"$stop": "10"})
    response = raised.value.response()
    assert response.status == 400
    # Issue microsoft-365-docs#12682, verbatim: empty code, a details array, no target.
    assert response.body == {"error": {
        "code": "",
        "message": "The query specified in the URI is not valid. Custom query option '$stop' that starts with '$' is not supported.",
        "details": [],
    }}


def test_undocumented_system_options_are_not_allowed():
    with pytest.raises(odata.ODataError) as raised:
        options_of({"$select": "name"})
    assert raised.value.message.startswith("Query option 'Select' is not allowed.")


def test_option_names_are_case_insensitive_and_plain_custom_options_are_ignored():
    options = options_of({"$TOP": "3", "api-version": "1.0"})
    assert options.top == 3


def test_a_repeated_option_is_refused():
    with pytest.raises(odata.ODataError) as raised:
        odata.parse_query_options({"$skip": "1"}, "$skip=1&%24skip=2", THING)
    assert raised.value.message == "Query option '$skip' was specified more than once, but it must be specified at most once."


def test_options_work_without_a_raw_query_string():
    assert options_of({"$top": "1", "$filter": "size eq 1"}, raw=False).page(THINGS) == THINGS[:1]


@pytest.mark.parametrize("orderby, expected", [
    ("size desc", ["gamma's", "beta", "alpha", None]),
    ("size", [None, "alpha", "beta", "gamma's"]),              # null sorts lowest, ascending is the default
    ("SEEN asc", [None, "alpha", "beta", "gamma's"]),          # property names are case-insensitive
    ("flag desc,name desc", ["alpha", "gamma's", "beta", None]),
    ("secret", ["alpha", "beta", "gamma's", None]),            # sortable though not filterable; ties keep their order
])
def test_orderby(orderby, expected):
    assert [thing["name"] for thing in options_of({"$orderby": orderby}).page(THINGS)] == expected


def test_orderby_applies_before_the_page():
    page = options_of({"$orderby": "size desc", "$top": "2", "$skip": "1"}).page(THINGS)
    assert [thing["name"] for thing in page] == ["beta", "alpha"]


@pytest.mark.parametrize("orderby, message", [
    ("colour", "Could not find a property named 'colour' on type 'Thing'."),
    ("tags", "The $orderby expression must evaluate to a single value of primitive type."),
    ("size downwards", "Syntax error at position 14 in 'size downwards'."),
])
def test_orderby_errors(orderby, message):
    with pytest.raises(odata.ODataError) as raised:
        options_of({"$orderby": orderby})
    assert raised.value.message == message


def test_the_server_page_size_caps_top():
    options = options_of({"$top": "3"})
    assert options.page(THINGS, page_size=2) == THINGS[:2]
