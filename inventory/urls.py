from django.urls import path

from . import views

app_name = "inventory"

urlpatterns = [
    path("", views.store_index, name="store_index"),
    path("s/<str:store_id>/", views.store_page, name="store_page"),
    path("s/<str:store_id>/qr/", views.store_qr_sheet, name="store_qr_sheet"),
    path("s/<str:store_id>/p/<str:product_id>/", views.product_page, name="product_page"),
    path("s/<str:store_id>/p/<str:product_id>/qr.svg", views.product_qr_svg, name="product_qr_svg"),
]

# The booth screen and the staff sales dashboard (inventory/booth.py).
from . import booth  # noqa: E402

urlpatterns += [
    path("s/<str:store_id>/booth/", booth.booth_screen, name="booth_screen"),
    path("s/<str:store_id>/booth.json", booth.booth_sales_json, name="booth_sales"),
    path("staff/dashboard/", booth.staff_dashboard, name="staff_dashboard"),
    path("staff/dashboard.json", booth.staff_dashboard_json, name="staff_dashboard_json"),
]
