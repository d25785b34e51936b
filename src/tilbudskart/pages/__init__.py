"""The app's pages, one module each; ``app.py`` wires them together.

``finn`` (search), ``dekning`` (coverage), ``nye`` (new groups), ``last`` (upload and
publish); ``shared`` holds the Streamlit caches, map helpers and phone-line widgets they
use. Page code lays out what tested functions of the package compute.
"""
