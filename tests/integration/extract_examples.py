"""Write what the docs show as runnable files, so a test executes every example:
each module's EXAMPLES block as a task file, and each ```yaml block of the README as a
playbook.

    python3 extract_examples.py MODULES_DIR EXAMPLES_OUT [README README_OUT]
"""
import ast
import os
import re
import sys


def module_examples(src, dest):
    os.makedirs(dest, exist_ok=True)
    for name in sorted(os.listdir(src)):
        if not name.endswith(".py") or name.startswith("_"):
            continue
        with open(os.path.join(src, name)) as f:
            tree = ast.parse(f.read())
        for node in tree.body:
            if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "EXAMPLES":
                with open(os.path.join(dest, name[:-3] + ".yml"), "w") as f:
                    f.write("---\n" + node.value.value.lstrip("\n"))


def readme_snippets(readme, dest):
    os.makedirs(dest, exist_ok=True)
    with open(readme) as f:
        blocks = re.findall(r"^```yaml\n(.*?)^```", f.read(), flags=re.S | re.M)
    for i, block in enumerate(blocks, 1):
        with open(os.path.join(dest, "snippet%02d.yml" % i), "w") as f:
            f.write("---\n" + block)


if __name__ == "__main__":
    module_examples(sys.argv[1], sys.argv[2])
    if len(sys.argv) > 4:
        readme_snippets(sys.argv[3], sys.argv[4])
