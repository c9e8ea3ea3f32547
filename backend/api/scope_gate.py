"""Closes every root field an API key's request names unless the field declares a scope the key
has (permission classes of backend.api.permissions). Fields declaring nothing are refused, so a
new field stays out of reach of bots until its author says what it needs."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

import strawberry
from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from strawberry.extensions import SchemaExtension

from backend.api.permissions import ApiKeyScope

# Field name -> the scopes that reach it ({None}: none may), per root type.
Declarations = dict[str, dict[str, frozenset[str | None]]]


@cache
def declarations(schema: strawberry.Schema) -> Declarations:
    result: Declarations = {}
    for op, root in (
        ("query", schema._schema.query_type),
        ("mutation", schema._schema.mutation_type),
        ("subscription", schema._schema.subscription_type),
    ):
        fields: dict[str, frozenset[str | None]] = {}
        for name, field in root.fields.items() if root else ():
            definition = field.extensions.get("strawberry-definition")
            classes = getattr(definition, "permission_classes", None) or []
            scopes = [c.required_scope for c in classes if issubclass(c, ApiKeyScope)]
            if scopes:
                fields[name] = frozenset(scopes)
        result[op] = fields
    return result


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name and o.name.value == name), None)


def _root_fields(
    selection_set: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode]
) -> Iterator[str]:
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection.name.value
        elif isinstance(selection, InlineFragmentNode):
            yield from _root_fields(selection.selection_set, fragments)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                yield from _root_fields(fragment.selection_set, fragments)


def refusal(scopes: tuple[str, ...], declared: frozenset[str | None] | None, field: str) -> str:
    if declared is None:
        return f"{field} is not available to API keys"
    if declared == {None}:
        return f"{field} needs a password session, not an API key"
    needed = sorted(s for s in declared if s is not None)
    if not set(needed) & set(scopes):
        return f"{field} needs an API key with the {' or '.join(needed)} scope"
    return ""


class ApiKeyScopeGate(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        context = self.execution_context.context
        key = getattr(context, "api_key", None)
        document = self.execution_context.graphql_document
        if key is not None and document is not None:
            error = self._check(key.scopes, document)
            if error:
                self.execution_context.result = ExecutionResult(
                    data=None, errors=[GraphQLError(error, extensions={"code": "FORBIDDEN"})]
                )
        yield

    def _check(self, scopes: tuple[str, ...], document: DocumentNode) -> str:
        operation = _operation(document, self.execution_context.operation_name)
        if operation is None:
            return ""  # graphql-core reports the missing operation itself
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        declared = declarations(self.execution_context.schema)[operation.operation.value]
        for field in _root_fields(operation.selection_set, fragments):
            if field == "__typename":
                continue
            message = refusal(scopes, declared.get(field), field)
            if message:
                return message
        return ""
