from django.urls import path

from . import views

app_name = "payments"

urlpatterns = [
    path("offline/pay/<str:payment_link_id>/", views.offline_pay, name="offline_pay"),
]
