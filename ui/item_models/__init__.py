"""Qt item models: the tables and lists the panels and dialogs show, over plain service views.

Not to be confused with models/ (the SQLAlchemy tables): these hold rows a service returned and never
touch the store. A table of rows starts from `rows.RowsModel`.
"""
