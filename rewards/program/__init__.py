"""The rules engine: earning rules as staff write them, and what an event earns through them.

- ``language``: the condition fields, the operators, the triggers and what each trigger's
  events carry, each written once; the validator, the admin form and the engine read them.
- ``validate``: a rule's grammar in plain Python, raising the domain's ``RuleInvalid``.
- ``engine``: whether a rule applies to an event, and the awards, caps and multipliers.
- ``versions``: a rule's definition as each version keeps it.

No module here imports DRF: the API and admin wrap ``validate``.
"""
