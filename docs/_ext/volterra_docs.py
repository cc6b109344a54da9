"""A directive that renders the closed forms of a spec file at build time (always current).

    ```{derivation} derivations/ou2_symbolic.toml
    ```

writes the stationary law, the propagator, the stationary means and every kernel of the spec as
display math (sin(x)/x shown for SymPy's sinc, as ``volterra-sym derive --format latex``).
"""

from __future__ import annotations

from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive, directives

ROOT = Path(__file__).resolve().parents[2]


class Derivation(Directive):
    required_arguments = 1
    option_spec = {"order": directives.positive_int}

    def run(self) -> list[nodes.Node]:
        from volterra_sym.classes.registry import engine_for
        from volterra_sym.model import build_model
        from volterra_sym.report.present import describe
        from volterra_sym.spec import load_spec

        spec_path = ROOT / self.arguments[0]
        engine = engine_for(build_model(load_spec(spec_path)), order=self.options.get("order"))
        out: list[nodes.Node] = []
        for line in describe(engine, "latex").splitlines():
            if line.startswith("%"):
                if "sinc" in line:
                    out.append(nodes.paragraph(text=line.lstrip("% ").strip() + "."))
                continue
            block = nodes.math_block(line, line, nowrap=False, number=None)
            block["docname"] = self.state.document.settings.env.docname
            out.append(block)
        return out


def setup(app):
    app.add_directive("derivation", Derivation)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
