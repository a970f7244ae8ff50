"""Code shared by the three Django projects. Nothing here imports a project."""
