"""Names that become file and folder names (studies, registered models): letters, digits, ``_``,
``.`` and ``-``, starting with a letter or digit, so no name is ``..`` or holds a path separator
and every output stays inside its folder."""

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
