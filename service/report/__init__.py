"""The budget document (预算编制说明) and the Chinese exports' shared vocabulary.

``words`` holds the GLOSSARY.md terms and the source documents' full titles; ``deviations`` the
:class:`DeviationRow` a budget draft hands to the xlsx writer and the PDF; ``pdf`` renders the
编制说明 with WeasyPrint from HTML templates that double as the pages' print stylesheet.
"""
