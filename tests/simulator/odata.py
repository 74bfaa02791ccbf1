"""The OData v4 query options of the simulated Defender API: $filter, $orderby, $top and $skip, parsed strictly.

The real API is ASP.NET OData; its errors are 400 with an empty ``code``, a ``details`` array and a message that
starts "The query specified in the URI is not valid." (get-machineactions-collection.md, issue microsoft-365-docs#12682). The
messages below reuse the wording of the OData libraries where it is known, so a client that shows the API's
message to the user shows something realistic.

Being stricter than the real service is the safe side for a test double: a client that passes here sends only
documented queries. So string comparisons are case-sensitive (OData's rule; the real backend may be more
lenient), operators are lower-case keywords, and a datetime with a time of day needs an offset. Property,
function and option names are case-insensitive because the official samples use ``MachineId`` and ``machineId``
interchangeably (get-machineactions-collection.md), which only works with the OData case-insensitive resolver switched on.
"""

import operator
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import unquote_plus

from .http import Response

INVALID_QUERY = "The query specified in the URI is not valid. "
# "Maximum page size is 10,000" (get-machineactions-collection.md, get-machines.md): both the $top limit and the page size when $top is absent.
MAX_PAGE_SIZE = 10_000

STRING = "Edm.String"
DATETIME = "Edm.DateTimeOffset"
BOOLEAN = "Edm.Boolean"
INT32 = "Edm.Int32"
INT64 = "Edm.Int64"
DECIMAL = "Edm.Decimal"
STRING_COLLECTION = "Collection(Edm.String)"
NUMERIC = frozenset((INT32, INT64, DECIMAL))

# $orderby is undocumented but sent in production by two clients (docs/api-fidelity.md: Kibana, MDEAutomator).
SUPPORTED_OPTIONS = ("$filter", "$orderby", "$top", "$skip")
# System query options OData knows but the Defender API does not document: ASP.NET refuses options that are not
# enabled with this message, whereas an unknown "$..." name is a custom option (get-machineactions-collection.md, the "$stop" typo).
NOT_ALLOWED_OPTIONS = {
    "$select": "Select", "$expand": "Expand", "$count": "Count", "$search": "Search",
    "$apply": "Apply", "$compute": "Compute", "$format": "Format", "$skiptoken": "SkipToken", "$deltatoken": "DeltaToken",
}


class ODataError(Exception):
    """An invalid query; ``response()`` is the 400 the real API gives for it."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def response(self):
        # Issue #12682 shows this body verbatim: no "target", unlike the API's own errors (common-errors.md).
        return Response(400, {"error": {"code": "", "message": INVALID_QUERY + self.message, "details": []}})


@dataclass(frozen=True)
class Property:
    name: str
    edm_type: str
    filterable: bool = False


class EntityType:
    """The properties of one entity set, looked up case-insensitively."""

    def __init__(self, name, properties):
        self.name = name
        self._properties = {prop.name.lower(): prop for prop in properties}

    def find(self, name):
        return self._properties.get(name.lower())


@dataclass
class QueryOptions:
    predicate: object          # entity dict -> bool
    top: int                   # None when the request has no $top
    skip: int
    order: tuple = ()          # ($orderby key function, descending) pairs, most significant first

    def matching(self, entities):
        """The entities the $filter keeps, in $orderby order (stable: ties keep the order given)."""
        matches = [entity for entity in entities if self.predicate(entity)]
        for key, descending in reversed(self.order):
            matches.sort(key=key, reverse=descending)
        return matches

    def window(self, matches, page_size=MAX_PAGE_SIZE):
        """$skip, then $top (at most the server's page size) of entities that already match."""
        limit = page_size if self.top is None else min(self.top, page_size)
        return matches[self.skip:self.skip + limit]

    def page(self, entities, page_size=MAX_PAGE_SIZE):
        return self.window(self.matching(entities), page_size)


def parse_query_options(query, raw_query, entity_type):
    """QueryOptions from a request's query (first values) and raw query string; raises ODataError."""
    options = {}
    for name, value in _query_pairs(query, raw_query):
        key = name.lower()
        if not key.startswith("$"):
            continue      # OData ignores custom options that do not start with "$"
        if key in NOT_ALLOWED_OPTIONS:
            raise ODataError("Query option '%s' is not allowed. To allow it, set the 'AllowedQueryOptions' property on EnableQueryAttribute "
                             "or QueryValidationSettings." % NOT_ALLOWED_OPTIONS[key])
        if key not in SUPPORTED_OPTIONS:
            raise ODataError("Custom query option '%s' that starts with '$' is not supported." % name)
        if key in options:
            raise ODataError("Query option '%s' was specified more than once, but it must be specified at most once." % key)
        options[key] = value
    top = _non_negative_integer("$top", options["$top"]) if "$top" in options else None
    if top is not None and top > MAX_PAGE_SIZE:
        raise ODataError("The limit of '%s' for Top query has been exceeded. The value from the incoming request is '%s'." % (MAX_PAGE_SIZE, top))
    skip = _non_negative_integer("$skip", options["$skip"]) if "$skip" in options else 0
    predicate = compile_filter(options["$filter"], entity_type) if "$filter" in options else _match_all
    order = compile_orderby(options["$orderby"], entity_type) if "$orderby" in options else ()
    return QueryOptions(predicate, top, skip, order)


_ORDERBY_ITEM = re.compile(r"\s*([A-Za-z_]\w*)(?:\s+(asc|desc))?\s*")
_UNORDERABLE = (STRING_COLLECTION,)


def compile_orderby(text, entity_type):
    """($orderby key function, descending) pairs; property names case-insensitive, null sorts lowest (OData)."""
    order = []
    for item in text.split(","):
        match = _ORDERBY_ITEM.fullmatch(item)
        if not match:
            raise ODataError("Syntax error at position %d in '%s'." % (text.find(item.strip()) + len(item.strip()), text))
        prop = entity_type.find(match.group(1))
        if prop is None:
            raise ODataError("Could not find a property named '%s' on type '%s'." % (match.group(1), entity_type.name))
        if prop.edm_type in _UNORDERABLE or not prop.edm_type.startswith("Edm."):
            raise ODataError("The $orderby expression must evaluate to a single value of primitive type.")
        order.append((_sort_key(prop), match.group(2) == "desc"))
    return tuple(order)


def _sort_key(prop):
    def sort_key(entity):
        value = entity.get(prop.name)
        if value is None:
            return (False, 0)
        return (True, parse_datetime(value) if prop.edm_type == DATETIME else value)
    return sort_key


def _query_pairs(query, raw_query):
    # The raw query string still shows repeated options, which the first-value dict has already dropped.
    if not raw_query:
        return list(query.items())
    pairs = []
    for part in raw_query.split("&"):
        name = unquote_plus(part.split("=", 1)[0])
        if name:
            pairs.append((name, query.get(name, "")))
    return pairs


def _non_negative_integer(name, raw):
    if not re.fullmatch(r"[0-9]+", raw or ""):
        raise ODataError("Invalid value '%s' for %s query option found. The %s query option requires a non-negative integer value." % (raw, name, name))
    return int(raw)


def _match_all(_entity):
    return True


# A bare date is midnight UTC; the docs' own sample `lastSeen gt 2018-08-01Z` (get-machines.md) has a "Z" after the date.
_DATE_ONLY = re.compile(r"(\d{4}-\d{2}-\d{2})Z?")


def parse_datetime(text):
    """An aware datetime from an entity's or a literal's ISO 8601 text (7-digit fractions are truncated)."""
    if text is None:
        return None
    match = _DATE_ONLY.fullmatch(text)
    if match:
        return datetime.fromisoformat(match.group(1)).replace(tzinfo=timezone.utc)
    return datetime.fromisoformat(text)


_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<string>'(?:[^']|'')*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?(?:Z|[+-]\d{2}:\d{2})|Z)?(?![\w.:-]))
  | (?P<number>-?\d+(?:\.\d+)?(?![\w.]))
  | (?P<name>[A-Za-z_]\w*)
  | (?P<punctuation>[(),/:])
""", re.VERBOSE)


@dataclass
class _Token:
    kind: str         # string, datetime, number, name, punctuation, end
    text: str
    position: int


def _tokenize(text):
    tokens = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match:
            if text[position] == "'":
                raise ODataError("There is an unterminated string literal at position %d in '%s'." % (position, text))
            raise ODataError("Syntax error: character '%s' is not valid at position %d in '%s'." % (text[position], position, text))
        if match.lastgroup != "space":
            tokens.append(_Token(match.lastgroup, match.group(), position))
        position = match.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


_COMPARISONS = {
    "eq": ("Equal", operator.eq),
    "ne": ("NotEqual", operator.ne),
    "gt": ("GreaterThan", operator.gt),
    "ge": ("GreaterThanOrEqual", operator.ge),
    "lt": ("LessThan", operator.lt),
    "le": ("LessThanOrEqual", operator.le),
}

_STRING_FUNCTIONS = {
    "startswith": str.startswith,
    "endswith": str.endswith,
    "contains": operator.contains,
}


def compile_filter(text, entity_type):
    """A predicate (entity dict -> bool) for a $filter expression over ``entity_type``; raises ODataError."""
    return _FilterParser(text, entity_type).parse()


def _family(edm_type):
    return "number" if edm_type in NUMERIC else edm_type


def _type_name(edm_type):
    return "<null>" if edm_type is None else edm_type


def _incompatible(kind, left_type, right_type):
    return ODataError("A binary operator with incompatible types was detected. Found operand types '%s' and '%s' for operator kind '%s'."
                      % (_type_name(left_type), _type_name(right_type), kind))


# Evaluators take (entity, scope) where scope maps lambda variables to the current element, and return a value;
# logical ones return True, False or None (OData's null: a comparison with null that is neither true nor false).

def _and_values(left, right):
    if left is False or right is False:
        return False
    return None if left is None or right is None else True


def _or_values(left, right):
    if left is True or right is True:
        return True
    return None if left is None or right is None else False


class _FilterParser:
    """Recursive descent over OData's precedence: or < and < comparison (eq ... le, in) < not < primary."""

    def __init__(self, text, entity_type):
        self.text = text
        self.entity_type = entity_type
        self.tokens = _tokenize(text)
        self.index = 0
        self.variables = {}     # lambda variable -> element type

    def parse(self):
        edm_type, evaluate = self._or()
        if self._peek().kind != "end":
            raise self._syntax_error()
        if edm_type != BOOLEAN:
            raise ODataError("The $filter expression must evaluate to a single boolean value.")
        return lambda entity: evaluate(entity, {}) is True

    # tokens

    def _peek(self):
        return self.tokens[self.index]

    def _next(self):
        token = self.tokens[self.index]
        self.index += 1
        return token

    def _accept_keyword(self, keyword):
        token = self._peek()
        if token.kind == "name" and token.text == keyword:
            self.index += 1
            return True
        return False

    def _accept(self, punctuation):
        token = self._peek()
        if token.kind == "punctuation" and token.text == punctuation:
            self.index += 1
            return True
        return False

    def _expect(self, punctuation):
        if not self._accept(punctuation):
            raise ODataError("'%s' expected at position %d in '%s'." % (punctuation, self._peek().position, self.text))

    def _syntax_error(self):
        token = self._peek()
        if token.kind == "end":
            return ODataError("Expression expected at position %d in '%s'." % (token.position, self.text))
        return ODataError("Syntax error at position %d in '%s'." % (token.position, self.text))

    # grammar

    def _or(self):
        return self._logical("or", "Or", self._and, _or_values)

    def _and(self):
        return self._logical("and", "And", self._comparison, _and_values)

    def _logical(self, keyword, kind, operand, combine):
        left_type, left = operand()
        while self._accept_keyword(keyword):
            right_type, right = operand()
            if left_type != BOOLEAN or right_type != BOOLEAN:
                raise _incompatible(kind, left_type, right_type)
            left = self._combined(combine, left, right)
        return left_type, left

    @staticmethod
    def _combined(combine, left, right):
        return lambda entity, scope: combine(left(entity, scope), right(entity, scope))

    def _comparison(self):
        left_type, left = self._unary()
        while True:
            token = self._peek()
            if token.kind == "name" and token.text in _COMPARISONS:
                self.index += 1
                kind, compare = _COMPARISONS[token.text]
                right_type, right = self._unary()
                left_type, left = BOOLEAN, self._compared(kind, compare, left_type, left, right_type, right)
            elif self._accept_keyword("in"):
                left_type, left = BOOLEAN, self._in_list(left_type, left)
            else:
                return left_type, left

    @staticmethod
    def _compared(kind, compare, left_type, left, right_type, right):
        collections = left_type == STRING_COLLECTION or right_type == STRING_COLLECTION
        typed = left_type is not None and right_type is not None
        if collections or (typed and _family(left_type) != _family(right_type)):
            raise _incompatible(kind, left_type, right_type)

        def evaluate(entity, scope):
            left_value, right_value = left(entity, scope), right(entity, scope)
            if left_value is None or right_value is None:
                if compare is operator.eq:
                    return left_value is None and right_value is None
                if compare is operator.ne:
                    return not (left_value is None and right_value is None)
                return None
            return compare(left_value, right_value)
        return evaluate

    def _in_list(self, left_type, left):
        self._expect("(")
        values = set()
        while True:
            value_type, value = self._literal()
            if left_type == STRING_COLLECTION or (value_type is not None and _family(value_type) != _family(left_type)):
                raise _incompatible("Equal", left_type, value_type)
            values.add(value(None, {}))
            if not self._accept(","):
                break
        self._expect(")")
        return lambda entity, scope: left(entity, scope) in values

    def _unary(self):
        if self._accept_keyword("not"):
            operand_type, operand = self._unary()
            if operand_type != BOOLEAN:
                raise ODataError("A unary operator with an incompatible type was detected. Found operand type '%s' for operator kind 'Not'."
                                 % _type_name(operand_type))
            return BOOLEAN, lambda entity, scope: None if (value := operand(entity, scope)) is None else not value
        return self._primary()

    def _primary(self):
        token = self._peek()
        if self._accept("("):
            result = self._or()
            self._expect(")")
            return result
        if token.kind == "name" and token.text not in ("null", "true", "false"):
            self.index += 1
            if self._peek().kind == "punctuation" and self._peek().text == "(" and token.text not in self.variables and not self.entity_type.find(token.text):
                return self._function(token.text)
            return self._member(token.text)
        return self._literal()

    def _literal(self):
        token = self._next()
        if token.kind == "string":
            value = token.text[1:-1].replace("''", "'")
            return STRING, lambda entity, scope: value
        if token.kind == "datetime":
            value = parse_datetime(token.text)
            return DATETIME, lambda entity, scope: value
        if token.kind == "number":
            if "." in token.text:
                return DECIMAL, self._constant(float(token.text))
            number = int(token.text)
            return (INT32 if -2 ** 31 <= number < 2 ** 31 else INT64), self._constant(number)
        if token.kind == "name" and token.text in ("true", "false"):
            return BOOLEAN, self._constant(token.text == "true")
        if token.kind == "name" and token.text == "null":
            return None, self._constant(None)
        self.index -= 1
        raise self._syntax_error()

    @staticmethod
    def _constant(value):
        return lambda entity, scope: value

    def _function(self, name):
        function = _STRING_FUNCTIONS.get(name.lower())
        if function is None:
            raise ODataError("An unknown function with name '%s' was found. This may also be a function import or a key lookup on a "
                             "navigation property, which is not allowed." % name)
        self._expect("(")
        arguments = [self._or()]
        while self._accept(","):
            arguments.append(self._or())
        self._expect(")")
        if len(arguments) != 2 or any(argument_type not in (STRING, None) for argument_type, _evaluate in arguments):
            raise ODataError("No function signature for the function with name '%s' matches the specified arguments. The function "
                             "signatures considered are: %s(Edm.String Nullable=true, Edm.String Nullable=true)." % (name, name.lower()))
        first, second = (evaluate for _type, evaluate in arguments)

        def evaluate(entity, scope):
            first_value, second_value = first(entity, scope), second(entity, scope)
            if first_value is None or second_value is None:
                return None
            return function(first_value, second_value)
        return BOOLEAN, evaluate

    def _member(self, name):
        if name in self.variables:
            edm_type = self.variables[name]
            result = edm_type, lambda entity, scope: scope[name]
        else:
            result = self._property(name)
        if self._accept("/"):
            return self._navigation(*result)
        return result

    def _property(self, name):
        prop = self.entity_type.find(name)
        if prop is None:
            raise ODataError("Could not find a property named '%s' on type '%s'." % (name, self.entity_type.name))
        if not prop.filterable:
            raise ODataError("The property '%s' cannot be used in the $filter query option." % prop.name)
        key = prop.name
        if prop.edm_type == DATETIME:
            return DATETIME, lambda entity, scope: parse_datetime(entity.get(key))
        return prop.edm_type, lambda entity, scope: entity.get(key)

    def _navigation(self, edm_type, collection):
        token = self._next()
        if token.kind != "name":
            self.index -= 1
            raise self._syntax_error()
        if token.text not in ("any", "all"):
            raise ODataError("Could not find a property named '%s' on type '%s'." % (token.text, edm_type))
        if edm_type != STRING_COLLECTION:
            raise ODataError("Any/All may only be used following a collection.")
        self._expect("(")
        if token.text == "any" and self._accept(")"):
            return BOOLEAN, lambda entity, scope: bool(collection(entity, scope))
        variable = self._next()
        if variable.kind != "name":
            self.index -= 1
            raise self._syntax_error()
        self._expect(":")
        self.variables[variable.text] = STRING
        try:
            body_type, body = self._or()
        finally:
            del self.variables[variable.text]
        self._expect(")")
        if body_type != BOOLEAN:
            raise ODataError("The %s expression must evaluate to a single boolean value." % token.text)
        quantifier = any if token.text == "any" else all

        def evaluate(entity, scope):
            elements = collection(entity, scope) or ()
            return quantifier(body(entity, {**scope, variable.text: element}) is True for element in elements)
        return BOOLEAN, evaluate
