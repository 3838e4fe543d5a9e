"""yaml_config.py - write asmtpd.yaml from Python values, with the standard library only.

to_yaml() gives block-style YAML for dicts, lists of dicts and scalars (enough for asmtpd.yaml);
deep_merge() lays a test's settings over the harness defaults. Owner: tooling (t/e2e/).
"""

import json


def _scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, (list, tuple)) and all(not isinstance(x, (dict, list)) for x in v):
        return "[" + ", ".join(_scalar(x) for x in v) + "]"
    return json.dumps(str(v))   # a JSON string is a valid double-quoted YAML scalar


def to_yaml(value, indent=0):
    """Block-style YAML for dicts, lists of dicts and scalars (enough for asmtpd.yaml)."""
    pad = " " * indent
    out = []
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, dict):
                out.append(f"{pad}{k}:")
                out.append(to_yaml(v, indent + 2))
            elif isinstance(v, list) and any(isinstance(x, dict) for x in v):
                out.append(f"{pad}{k}:")
                out.append(to_yaml(v, indent + 2))
            else:
                out.append(f"{pad}{k}: {_scalar(v)}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict):
                sub = to_yaml(item, indent + 2).splitlines()
                out.append(f"{pad}- {sub[0].lstrip()}")
                out.extend(sub[1:])
            else:
                out.append(f"{pad}- {_scalar(item)}")
    else:
        out.append(pad + _scalar(value))
    return "\n".join(x for x in out if x != "")


def deep_merge(base, over):
    out = dict(base)
    for k, v in (over or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out
