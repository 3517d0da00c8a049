"""Write each module's EXAMPLES block as a task file, so a test executes every example."""
import ast
import os
import sys

src, dest = sys.argv[1], sys.argv[2]
os.makedirs(dest, exist_ok=True)
for name in sorted(os.listdir(src)):
    if not name.endswith(".py") or name.startswith("_"):
        continue
    tree = ast.parse(open(os.path.join(src, name)).read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "EXAMPLES":
            with open(os.path.join(dest, name[:-3] + ".yml"), "w") as f:
                f.write("---\n" + node.value.value.lstrip("\n"))
