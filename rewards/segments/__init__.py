"""Segments: who a customer is. The language of a segment's conditions (``language``), the one
SQL query they compile to (``query``) and every read of membership through it (``membership``);
customer attributes' rules (``attributes``). Plain
Python: the services in ``rewards.services.segments`` and ``rewards.services.attributes``
call these, the API's and admin's forms call the services."""
