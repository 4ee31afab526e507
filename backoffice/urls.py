"""The booth's day, for staff (admin login): /staff/…"""

from django.urls import path

from . import csv_views, handover_views, report_views, stock_views

app_name = "backoffice"

urlpatterns = [
    path("sales/", handover_views.sales_page, name="sales"),
    path("hand-over/", handover_views.hand_over_page, name="hand_over"),
    path("stocktake/", stock_views.stocktake_index, name="stocktake_index"),
    path("stocktake/<str:store_id>/", stock_views.stocktake, name="stocktake"),
    path("transfer/", stock_views.transfer, name="transfer"),
    path("receive/", stock_views.receive_index, name="receive_index"),
    path("receive/<str:store_id>/", stock_views.receive, name="receive"),
    path("stock-csv/", csv_views.stock_csv_page, name="stock_csv"),
    path("stock-csv/export.csv", csv_views.stock_csv_download, name="stock_csv_export"),
    path("report/", report_views.report_index, name="report_index"),
    path("report/<str:store_id>/<str:day>/", report_views.day_report_page, name="day_report"),
    path("report/<str:store_id>/<str:day>-totals.csv", report_views.day_totals_csv, name="day_totals_csv"),
    path("report/<str:store_id>/<str:day>.csv", report_views.day_report_csv, name="day_report_csv"),
]
