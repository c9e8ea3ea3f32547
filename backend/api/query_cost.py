"""A query cost limit: every selected field costs 1, times the page sizes of the lists above it.

`myOrders(first: 100) { edges { node { fills { price } } } }` costs about 100 x (node + fills),
so a client may ask for many small things or few big ones, never a combinatorial explosion that
depth and alias limits alone allow. Page-size arguments (`first`, `last`, `depth`, `limit`) given
as variables count as DEFAULT_VARIABLE_FACTOR, since validation runs before variables are known
(and its result is cached per document).
"""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    get_named_type,
)

PAGE_ARGUMENTS = ("first", "last", "depth", "limit")
DEFAULT_VARIABLE_FACTOR = 100


def _page_factor(node: FieldNode, field: Any) -> int:
    for argument in node.arguments or ():
        if argument.name.value in PAGE_ARGUMENTS:
            value = argument.value
            if isinstance(value, IntValueNode):
                return max(1, int(value.value))
            return DEFAULT_VARIABLE_FACTOR
    for name in PAGE_ARGUMENTS:
        arg = field.args.get(name) if field is not None else None
        if arg is not None and isinstance(arg.default_value, int):
            return max(1, arg.default_value)
    return 1


class _Costing:
    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode]):
        self.schema = schema
        self.fragments = fragments
        self.active: set[str] = set()  # fragments being expanded (cycles are another rule's job)

    def cost(
        self, selections: SelectionSetNode, parent: GraphQLNamedType | None, factor: int
    ) -> int:
        total = 0
        for node in selections.selections:
            if isinstance(node, FieldNode):
                total += factor
                if node.selection_set is None:
                    continue
                field = self._field(parent, node.name.value)
                child = get_named_type(field.type) if field is not None else None
                total += self.cost(node.selection_set, child, factor * _page_factor(node, field))
            elif isinstance(node, InlineFragmentNode):
                typed = self._type(node.type_condition.name.value) if node.type_condition else None
                total += self.cost(node.selection_set, typed or parent, factor)
            elif isinstance(node, FragmentSpreadNode):
                name = node.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in self.active:
                    continue
                self.active.add(name)
                typed = self._type(fragment.type_condition.name.value)
                total += self.cost(fragment.selection_set, typed, factor)
                self.active.discard(name)
        return total

    def _type(self, name: str) -> GraphQLNamedType | None:
        return self.schema.get_type(name)

    def _field(self, parent: GraphQLNamedType | None, name: str) -> Any:
        if name == "__schema":
            return _Typed(self._type("__Schema"))
        if name == "__type":
            return _Typed(self._type("__Type"))
        fields = getattr(parent, "fields", None)
        return fields.get(name) if fields else None


class _Typed:
    """Stands in for an introspection field definition (they are not in the root's fields)."""

    def __init__(self, type_: GraphQLNamedType | None) -> None:
        self.type = type_
        self.args: dict[str, Any] = {}


def query_cost_rule(max_cost: int) -> type[ValidationRule]:
    class QueryCostLimit(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            context: ValidationContext = self.context
            fragments = {
                d.name.value: d
                for d in context.document.definitions
                if isinstance(d, FragmentDefinitionNode)
            }
            root = context.schema.get_root_type(node.operation)
            cost = _Costing(context.schema, fragments).cost(node.selection_set, root, 1)
            if cost > max_cost:
                context.report_error(
                    GraphQLError(
                        f"query cost {cost} exceeds the limit of {max_cost}",
                        node,
                        extensions={"code": "QUERY_TOO_COSTLY", "cost": cost, "limit": max_cost},
                    )
                )

    return QueryCostLimit
