"""The GraphQL API (strawberry). Never named `graphql`: that would shadow graphql-core."""
