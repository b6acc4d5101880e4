"""Sphinx settings of `make book` (tools/site/build_book.py copies this file into the staged source).

Nothing here may make a page load from another host: MathJax comes from npm (copied into _static/),
myst-nb's widget scripts (require.js and the widget manager from CDNs) are off, intersphinx is not
loaded, and the theme gets no icon links, fonts or launch buttons.
"""

project = "Late interaction retrieval, step by step"
author = "the course's authors"
copyright = "the course's authors"
html_title = project

extensions = ["myst_nb"]
root_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
# Executing nothing: the pages show the outputs committed in the notebooks.
nb_execution_mode = "off"
# helpers.table displays Markdown tables (text/markdown outputs)
nb_render_markdown_format = "gfm"
# No require.js or widget manager from a CDN; widget views are dropped before the build (build_book.py).
nb_ipywidgets_js = {}
nb_merge_streams = True
myst_enable_extensions = ["dollarmath"]
# Headings become anchors ("02-maxsim-distance.ipynb#which-token-is-each-vector")
myst_heading_anchors = 3

# MathJax 3 from npm (pinned in tools/site/package.json), SVG output: one script, no web fonts.
mathjax_path = "mathjax/tex-svg.js"
mathjax3_config = {
    "tex": {"inlineMath": [["\\(", "\\)"]], "displayMath": [["\\[", "\\]"]]},
    "options": {"processHtmlClass": "tex2jax_process|mathjax_process|math|output_area"},
}  # MathJax finds its extensions (input/tex/extensions/, copied too) next to its own script

html_theme = "sphinx_book_theme"
html_static_path = ["_static"]
html_favicon = "_static/favicon.svg"  # else browsers ask for /favicon.ico, a 404
html_css_files = ["course.css"]
html_show_sourcelink = False
html_copy_source = True  # the download button offers each page's .ipynb
html_last_updated_fmt = None
html_theme_options = {
    "use_download_button": True,
    "use_fullscreen_button": False,
    "home_page_in_toc": False,  # the title above the search box leads home
    "show_navbar_depth": 1,
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "icon_links": [],
    "navbar_persistent": [],
    "navbar_end": [],
    "launch_buttons": {},
    "footer_content_items": [],
    "extra_footer": "Built from the committed notebooks by <code>make book</code>; nothing was executed.",
}
html_context = {"default_mode": "light"}  # without it the theme logs a console error
html_sidebars = {"**": ["navbar-logo.html", "search-button-field.html", "sbt-sidebar-nav.html"]}
# The pages are used offline too: no "last updated" from git, no link checks against other hosts.
suppress_warnings = ["myst.header"]
