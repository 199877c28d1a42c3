"""What a team changes to brand the sign-in pages: the product's name and its logo.

Every page of the authorization server takes both from here (through
``pages.page_context``); the colours are the custom properties at the top of
``static/authorization/site.css``. docs/sign-in.md walks through it.
"""

NAME = "Example ID"
# A static file: replace the SVG, or point this at a file of your own under static/.
LOGO = "authorization/logo.svg"
