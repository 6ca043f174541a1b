"""Hypothesis entry point: register strategies for the cptrules models.

``pyproject.toml`` declares this module's :func:`_hypothesis_setup_hook` under
the ``hypothesis`` entry-point group, so ``st.from_type(cptrules.Session)``
(and ``st.builds`` of anything holding one) draws well-formed sessions once
Hypothesis is imported. Hypothesis is imported only inside the hook:
``import cptrules`` never pulls it in.
"""

from __future__ import annotations

__all__: list[str] = []


def _hypothesis_setup_hook() -> None:
    """Register type strategies for Session, ServiceLine, Provider, PlanOfCare, Documentation."""
    import hypothesis.strategies as st

    from . import models

    def _lazy(name: str) -> st.SearchStrategy[object]:
        # Deferred so cptrules.strategies (and the catalog data) load on first draw only.
        def build() -> st.SearchStrategy[object]:
            import importlib

            strategies = importlib.import_module("cptrules.strategies")
            made: st.SearchStrategy[object] = getattr(strategies, name)()
            return made

        return st.deferred(build)

    st.register_type_strategy(models.Session, _lazy("sessions"))
    st.register_type_strategy(models.ServiceLine, _lazy("service_lines"))
    st.register_type_strategy(models.Provider, _lazy("providers"))
    st.register_type_strategy(models.PlanOfCare, _lazy("plans_of_care"))
    st.register_type_strategy(models.Documentation, _lazy("documentations"))
