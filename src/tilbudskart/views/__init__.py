"""Views: what the app and the reports show, as pure functions of the pipeline's tables.

- :mod:`~tilbudskart.views.text`: escaping for HTML and Markdown, Norwegian numbers.
- :mod:`~tilbudskart.views.measures`: km or minutes, with their wording and map classes.
- :mod:`~tilbudskart.views.maps`: offline Folium maps, layers, markers, legends.
- :mod:`~tilbudskart.views.tables`: the app's tables in Norwegian.
- :mod:`~tilbudskart.views.route`: the fastest route as a map layer and a sentence.
- :mod:`~tilbudskart.views.exports`: GeoPackage and Excel-safe CSV downloads.
"""
