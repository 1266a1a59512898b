# Databricks notebook source
print("bye")
