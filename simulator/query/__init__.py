"""`silocarbon query`: federated queries run through Flower, next to the centralized alternative
(copy the raw data, query the copy), both measured. The statistics themselves are
`simulator.analytics`'s; the query syntax is `simulator.scenario.query_spec`'s."""
